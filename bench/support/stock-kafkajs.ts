// Loaded with `node --import` into a relay the Kafka bench starts, to measure it side by side with
// kafkajs as published: resolves `kafkajs` to the copy at AUDITE_BENCH_KAFKAJS (its index.js),
// which stockKafkajs() made by reverting patches/ on a copy of node_modules/kafkajs.
import { registerHooks } from 'node:module';
import { pathToFileURL } from 'node:url';

const entry = process.env.AUDITE_BENCH_KAFKAJS;
if (entry !== undefined) {
  const url = pathToFileURL(entry).href;
  registerHooks({
    resolve: (specifier, context, next) => (specifier === 'kafkajs' ? { url, format: 'commonjs', shortCircuit: true } : next(specifier, context)),
  });
}
