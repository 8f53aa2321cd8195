#!/usr/bin/env bash
# Single-node KRaft Kafka broker for tests, CI and local development, run from
# Apache Kafka's own jars fetched from Maven Central (no Docker, no tarball mirror).
#
#   kafka.sh fetch [VERSION]             download the jars once into the cache
#   kafka.sh start [--fresh] [VERSION]   start (or reuse) the broker; --fresh wipes its data
#   kafka.sh stop                        stop it (idempotent); data is kept for the next start
#   kafka.sh topics ARGS...              TopicCommand against the broker
#   kafka.sh producer-perf ARGS...       ProducerPerformance
#   kafka.sh console-consumer TOPIC [ARGS...]
#   kafka.sh env                         print AUDITE_KAFKA_BROKERS / AUDITE_KAFKA_VERSION
#
# Environment: AUDITE_KAFKA_VERSION (default below), AUDITE_KAFKA_PORT (19092),
# AUDITE_KAFKA_CONTROLLER_PORT (the broker port + 1), AUDITE_KAFKA_DIR (data dir; default is per
# version and port under the cache), AUDITE_CACHE_DIR, KAFKA_HEAP_OPTS (-Xmx512m).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DEFAULT_VERSION=3.9.2 # newest 3.9.x on Maven Central; 4.3.1 is the newest 4.x with kafka-tools
PORT="${AUDITE_KAFKA_PORT:-19092}"
# The controller listens next to the broker, so a second broker on another port never collides.
CPORT="${AUDITE_KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
ROOT="${AUDITE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/audite}/kafka"
# Remembers which broker this script started on $PORT (pid, version, data dir), so
# that stop/topics/... find it without being told the version again.
STATE="$ROOT/broker-$PORT.state"
pid="" version="" data="" # filled from $STATE by ours_running
READY_TIMEOUT=90

die() { echo "kafka.sh: $*" >&2; exit 1; }
log() { echo "kafka.sh: $*" >&2; }
major() { echo "${1%%.*}"; }
libs_of() { echo "$ROOT/$1/libs"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$ROOT"
# Serialise start/stop/fetch: parallel test workers may all call `start` at once.
lock() { exec 9>"$ROOT/.lock"; flock -w 600 9 || die "timed out waiting for $ROOT/.lock"; }

# Loads pid/version/data of the broker we started on $PORT; fails if it is not running.
# The cmdline check guards against the pid having been recycled by another process.
ours_running() {
  [[ -f "$STATE" ]] || return 1
  # shellcheck disable=SC1090
  source "$STATE"
  [[ -n "${pid:-}" && -r "/proc/$pid/cmdline" ]] && [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == *"kafka.Kafka "* ]]
}

# Version for tool commands: the running broker's, else the requested default.
current_version() {
  if ours_running; then echo "$version"; else echo "${AUDITE_KAFKA_VERSION:-$DEFAULT_VERSION}"; fi
}

fetch() {
  local v="$1" dir; dir="$(libs_of "$v")"
  [[ "$v" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "not a Kafka version: '$v'"
  [[ -f "$dir/.complete" ]] && return 0 # marker: a previous fetch finished
  log "fetching Kafka $v from Maven Central into $dir"
  local tmp="$dir.tmp.$$" out; out="$(mktemp)"
  rm -rf "$tmp"
  # -q keeps Maven silent; its full output is kept only to explain a failure.
  local profile=kafka4; (($(major "$v") < 4)) && profile=kafka3 # logging deps, see pom.xml
  if ! mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" "-P$profile" \
    "-Dkafka.version=$v" dependency:copy-dependencies "-DoutputDirectory=$tmp" >"$out" 2>&1; then
    rm -rf "$tmp"; sed 's/\x1b\[[0-9;]*m//g' "$out" >"$ROOT/fetch-$v.log"; rm -f "$out"
    die "mvn could not fetch Kafka $v: $(grep -m1 '^\[ERROR\]' "$ROOT/fetch-$v.log" | cut -c9-400) (full log: $ROOT/fetch-$v.log)"
  fi
  rm -f "$out"
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir" # atomic-ish: libs/ is either absent or complete
}

# Writes a log config: Kafka 3.x uses reload4j (log4j 1 syntax), 4.x log4j2.
# $2 is a file path, or "stderr" for the command-line tools.
write_log_config() {
  local v="$1" dest="$2" level="$3" out="$4"
  if (($(major "$v") < 4)); then
    if [[ "$dest" == stderr ]]; then
      printf '%s\n' "log4j.rootLogger=$level, A" "log4j.appender.A=org.apache.log4j.ConsoleAppender" \
        "log4j.appender.A.Target=System.err"
    else
      printf '%s\n' "log4j.rootLogger=$level, A" "log4j.appender.A=org.apache.log4j.RollingFileAppender" \
        "log4j.appender.A.File=$dest" "log4j.appender.A.MaxFileSize=50MB" "log4j.appender.A.MaxBackupIndex=2"
    fi >"$out"
    printf '%s\n' "log4j.appender.A.layout=org.apache.log4j.PatternLayout" \
      "log4j.appender.A.layout.ConversionPattern=[%d] %p %m (%c)%n" >>"$out"
  else
    if [[ "$dest" == stderr ]]; then
      printf '%s\n' "appender.A.type=Console" "appender.A.target=SYSTEM_ERR"
    else
      printf '%s\n' "appender.A.type=RollingFile" "appender.A.fileName=$dest" "appender.A.filePattern=$dest.%i" \
        "appender.A.policies.type=Policies" "appender.A.policies.size.type=SizeBasedTriggeringPolicy" \
        "appender.A.policies.size.size=50MB" "appender.A.strategy.type=DefaultRolloverStrategy" "appender.A.strategy.max=2"
    fi >"$out"
    printf '%s\n' "status=warn" "appender.A.name=A" "appender.A.layout.type=PatternLayout" \
      "appender.A.layout.pattern=[%d] %p %m (%c)%n" "rootLogger.level=$level" "rootLogger.appenderRef.A.ref=A" >>"$out"
  fi
}

log_opt() { if (($(major "$1") < 4)); then echo "-Dlog4j.configuration=file:$2"; else echo "-Dlog4j2.configurationFile=$2"; fi; }

# JVM option that makes a CLI tool log at WARN to stderr (never into server.log).
tools_log_opt() {
  local cfg="$ROOT/$1/tools-log.properties"
  [[ -f "$cfg" ]] || write_log_config "$1" stderr WARN "$cfg"
  log_opt "$1" "$cfg"
}

# Runs a Kafka CLI class from the jars of the running (or default) version.
run_tool() {
  local v; v="$(current_version)"
  # Lock only while fetching: a long console-consumer must not block start/stop.
  [[ -f "$(libs_of "$v")/.complete" ]] || { lock; fetch "$v"; exec 9>&-; }
  java -Xmx512m "$(tools_log_opt "$v")" -cp "$(libs_of "$v")/*" "$@"
}

server_properties() {
  local data="$1" v="$2"
  cat <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/logs
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
  # Share groups (KIP-932) exist only from 4.x; 3.9 would warn about unknown keys.
  if (($(major "$v") >= 4)); then
    printf '%s\n' share.coordinator.state.topic.replication.factor=1 share.coordinator.state.topic.min.isr=1
  fi
}

stop_broker() {
  ours_running || { rm -f "$STATE"; return 0; }
  log "stopping Kafka $version (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  # A clean shutdown flushes logs and avoids a slow log recovery on the next start.
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "still alive after 30 s, sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; sleep 1; fi
  rm -f "$STATE"
}

fail_start() {
  log "$1"
  for f in server.log stdout.log; do
    [[ -s "$2/$f" ]] && { log "--- last lines of $2/$f:"; tail -n 30 "$2/$f" >&2; }
  done
  stop_broker
  exit 1
}

start() {
  local fresh=0 v="${AUDITE_KAFKA_VERSION:-$DEFAULT_VERSION}"
  for a in "$@"; do case "$a" in --fresh) fresh=1 ;; -*) die "start: unknown option $a" ;; *) v="$a" ;; esac; done
  if ours_running; then
    [[ "$version" == "$v" ]] || die "Kafka $version is already running on port $PORT; stop it first"
    if ((fresh == 0)) && port_open "$PORT"; then log "Kafka $v already running on 127.0.0.1:$PORT (pid $pid)"; return 0; fi
    stop_broker
  fi
  rm -f "$STATE"
  port_open "$PORT" && die "port $PORT is in use by a process this script did not start"
  port_open "$CPORT" && die "controller port $CPORT is in use by a process this script did not start"
  fetch "$v"

  # Per version and port, so a second broker (other AUDITE_KAFKA_PORT) gets its own data.
  local data="${AUDITE_KAFKA_DIR:-$ROOT/$v/data-$PORT}" libs; libs="$(libs_of "$v")"
  ((fresh)) && rm -rf "$data"
  mkdir -p "$data"
  # The same data dir must not silently be upgraded/downgraded by another version.
  if [[ -f "$data/kafka-version" && "$(cat "$data/kafka-version")" != "$v" ]]; then
    die "$data was formatted by Kafka $(cat "$data/kafka-version"); use --fresh or another AUDITE_KAFKA_DIR"
  fi
  server_properties "$data" "$v" >"$data/server.properties"
  write_log_config "$v" "$data/server.log" INFO "$data/log4j.properties"
  # Fresh logs per run, so the readiness grep below cannot match a previous run's line.
  for f in server.log stdout.log; do [[ -f "$data/$f" ]] && mv -f "$data/$f" "$data/$f.prev"; done
  local logopt; logopt="$(log_opt "$v" "$data/log4j.properties")"

  # Format only once: a stop/start cycle (fault tests) must keep topics and offsets.
  # Static quorum (controller.quorum.voters) formats the same way on 3.9 and 4.x;
  # --standalone would be for the dynamic-quorum (bootstrap.servers) style instead.
  if [[ ! -f "$data/logs/meta.properties" ]]; then
    local id
    id="$(java "$(tools_log_opt "$v")" -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>>"$data/stdout.log" | tail -n 1)"
    [[ -n "$id" ]] || fail_start "StorageTool random-uuid failed" "$data"
    java "$(tools_log_opt "$v")" -cp "$libs/*" kafka.tools.StorageTool format -t "$id" -c "$data/server.properties" \
      >>"$data/stdout.log" 2>&1 || fail_start "StorageTool format failed" "$data"
    echo "$v" >"$data/kafka-version"
  fi

  rm -f "$data/broker.pid" # a stale one would be mistaken for the new broker's
  # setsid + no inherited stdio: the broker outlives this script and never holds the
  # caller's pipes open (Node's execFile would otherwise wait for it forever). 9>&-:
  # it must not inherit the lock fd either, or it would hold the lock until it exits.
  # shellcheck disable=SC2086,SC2016 # word-split heap opts; $$ is for the inner bash
  setsid bash -c 'echo $$ >"$1/broker.pid"; shift; exec "$@"' _ "$data" \
    java ${KAFKA_HEAP_OPTS:--Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true "$logopt" \
    -cp "$libs/*" kafka.Kafka "$data/server.properties" </dev/null >>"$data/stdout.log" 2>&1 9>&- &
  for _ in $(seq 1 50); do [[ -s "$data/broker.pid" ]] && break; sleep 0.1; done
  [[ -s "$data/broker.pid" ]] || fail_start "the broker process did not start" "$data"
  printf 'pid=%q\nversion=%q\ndata=%q\n' "$(cat "$data/broker.pid")" "$v" "$data" >"$STATE"
  log "starting Kafka $v on 127.0.0.1:$PORT (data: $data)"

  # Ready = the process logged "Kafka Server started" (broker registered and unfenced),
  # and a real client round trip (list topics) succeeds.
  local deadline=$((SECONDS + READY_TIMEOUT))
  while ((SECONDS < deadline)); do
    ours_running || fail_start "the broker exited during startup" "$data"
    if port_open "$PORT" && grep -q 'Kafka Server started' "$data/server.log" 2>/dev/null &&
      timeout 30 java "$(tools_log_opt "$v")" -cp "$libs/*" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$PORT" --list >/dev/null 2>&1; then
      log "Kafka $v ready on 127.0.0.1:$PORT after $((SECONDS + READY_TIMEOUT - deadline)) s"
      return 0
    fi
    sleep 0.5
  done
  fail_start "broker not ready after $READY_TIMEOUT s" "$data"
}

console_consumer() {
  (($# >= 1)) || die "usage: kafka.sh console-consumer TOPIC [ARGS...]"
  local topic="$1" v cls=org.apache.kafka.tools.consumer.ConsoleConsumer; shift
  v="$(current_version)"
  [[ -f "$(libs_of "$v")/.complete" ]] || { lock; fetch "$v"; exec 9>&-; }
  # Moved from core (kafka.tools) to the tools jar in 3.7; zip entry names are stored
  # uncompressed, so grep finds the class without unpacking the jar.
  grep -aq 'org/apache/kafka/tools/consumer/ConsoleConsumer.class' "$(libs_of "$v")"/kafka-tools-*.jar ||
    cls=kafka.tools.ConsoleConsumer
  # 4.2 renamed --property to --formatter-property and warns about the old name on
  # stdout, which would pollute the records we print.
  local prop=--property
  [[ "$(printf '%s\n' 4.2.0 "$v" | sort -V | head -n 1)" == 4.2.0 ]] && prop=--formatter-property
  run_tool "$cls" --bootstrap-server "127.0.0.1:$PORT" --topic "$topic" --from-beginning \
    "$prop" print.headers=true "$prop" print.key=true "$@"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  fetch) lock; fetch "${1:-${AUDITE_KAFKA_VERSION:-$DEFAULT_VERSION}}" ;;
  start) lock; start "$@" ;;
  stop) lock; stop_broker ;;
  topics) run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" "$@" ;;
  producer-perf) run_tool org.apache.kafka.tools.ProducerPerformance "$@" ;;
  console-consumer) console_consumer "$@" ;;
  env) echo "AUDITE_KAFKA_BROKERS=127.0.0.1:$PORT"; echo "AUDITE_KAFKA_VERSION=$(current_version)" ;;
  *) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
