# syntax=docker/dockerfile:1
#
# The audite relay. dist/ is compiled in one stage, production dependencies are
# installed in another, and the image keeps only those two plus bin/ and
# config/, running as the unprivileged `node` user (uid 1000).
#
#   docker build -t audite .                                  the relay (default target)
#   docker build --target demo-writer -t audite-demo-writer . docker-compose's demo app
#
# The relay reads config/audite.yaml (mount yours there, see docker-compose.yml)
# and keeps nothing of its own: the cursor lives in the SQLite database it relays.

ARG NODE_IMAGE=node:24-bookworm-slim

# 1. Compile. --ignore-scripts: the package's `prepare` would run tsc before the
#    sources are copied; compiling needs no native addon.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# 2. Production dependencies only. --ignore-scripts again: `prepare` needs tsc, a
#    devDependency. better-sqlite3 ships prebuilt addons for linux x64/arm64 in
#    its package, so nothing is compiled or downloaded here. patch-package then
#    applies patches/ (kafkajs's encoder; see patches/README.md), which the
#    skipped postinstall would have done.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npx --no-install patch-package --error-on-fail && npm cache clean --force

# 3. What every image below shares.
FROM ${NODE_IMAGE} AS base
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY config ./config
# The shared volume for the SQLite database (the relay writes its cursor there too).
RUN mkdir /data && chown node:node /data
USER node

# The compose demo's apps: one keeps changing /data/app.db, the other (the `postgres`
# profile) a PostgreSQL database. Not part of the relay image.
FROM base AS demo-writer
COPY docker/demo-writer.ts docker/demo-writer-pg.ts ./docker/
ENTRYPOINT ["node", "docker/demo-writer.ts"]
CMD ["/data/app.db", "500"]

# The relay (last stage: the default target).
FROM base AS relay
# /healthz, /readyz and /metrics on 127.0.0.1:9464 inside the container (the
# healthcheck's address); set AUDITE_OPS__HOST=0.0.0.0 to let Prometheus scrape
# it from another container, or AUDITE_OPS__PORT=null to turn it off (and the
# healthcheck with it: --no-healthcheck).
ENV AUDITE_OPS__PORT=9464
EXPOSE 9464
# Liveness, not readiness: a broker that is down makes /readyz 503 while the
# relay retries by itself; restarting the container would not help.
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The heap bounds bin/audite.js's shebang applies when executed directly: they keep
# the relay's RSS flat under load (see the launcher). SIGTERM stops it gracefully.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--max-old-space-size=64", "bin/audite.js"]
CMD ["run", "--config", "config/audite.yaml"]
