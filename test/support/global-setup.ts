// Services shared by the whole run.
//
// Kafka: the Kafka test files start the broker themselves, on first use
// (test/kafka/support.ts → ensureKafka(); the script's lock serialises parallel
// workers, and a running broker is reused), so a run without them needs no Java
// and pays nothing. A broker that cannot be started throws there: the Kafka
// tests fail, they never skip. At the end, a run stops the broker only if it
// started it and no other run on this machine still uses it (see
// test/kafka/broker-users.ts); one that was already up (`npm run kafka`, CI's
// .ci/run) is left running.
import type { TestProject } from 'vitest/node';
import { defaultKafkaPort, leave } from '../kafka/broker-users.ts';
import { stopKafka } from './kafka-broker.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Identifies this test run (its main process) to the Kafka broker's user registry. */
    auditeRun: string;
  }
}

export default function setup(project: TestProject): () => Promise<void> {
  const run = String(process.pid);
  project.provide('auditeRun', run);
  return async () => {
    if (leave(defaultKafkaPort(), run)) await stopKafka();
  };
}
