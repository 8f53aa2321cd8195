// `npm run bench`: every benchmark, one after the other, as markdown for BENCHMARKS.md.
//   npm run bench                      all of them
//   npm run bench -- capture relay     some of them (capture, pg-capture, history, relay, kafka, snapshot)
// Each compares side by side in the same run; ratios matter, absolute numbers depend on the machine.
import { cpus } from 'node:os';

type Bench = () => Promise<string>;
const benches: Record<string, () => Promise<Bench>> = {
  capture: async () => (await import('./capture-overhead.ts')).runCaptureBench,
  'pg-capture': async () => (await import('./pg-capture-overhead.ts')).runPgCaptureBench,
  history: async () => (await import('./history-queries.ts')).runHistoryBench,
  relay: async () => (await import('./relay-drain.ts')).runRelayBench,
  kafka: async () => (await import('./kafka-drain.ts')).runKafkaBench,
  'pg-kafka': async () => (await import('./pg-kafka-drain.ts')).runPgKafkaBench,
  snapshot: async () => (await import('./snapshot.ts')).runSnapshotBench,
};

const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(benches);
console.log(`<!-- ${new Date().toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} -->\n`);
for (const name of wanted) {
  const load = benches[name];
  if (load === undefined) throw new Error(`unknown benchmark ${name}; choose from ${Object.keys(benches).join(', ')}`);
  const started = performance.now();
  console.log(await (await load())());
  console.log(`<!-- ${name}: ${((performance.now() - started) / 1000).toFixed(0)} s -->\n`);
}
