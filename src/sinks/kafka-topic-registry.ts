import type { Admin, Kafka } from 'kafkajs';
import { AuditeError } from '../errors.ts';

/**
 * Which topics exist, learnt once per topic through an admin client, and the
 * optional creation of the missing ones.
 *
 * Existence is checked with one metadata request for all topics (listTopics)
 * rather than per-topic metadata, which kafkajs retries for seconds when a
 * topic is unknown. Creation is idempotent: only topics the listing lacks are
 * created, and one created meanwhile by someone else is fine
 * (TOPIC_ALREADY_EXISTS is not an error for kafkajs's createTopics).
 */

export interface TopicCreation {
  partitions: number;
  replicationFactor: number;
}

export interface TopicRegistry {
  /**
   * The topics among `topics` that do not exist and were not created (always
   * empty when creation is on). Rejects with kafkajs's error when the cluster
   * cannot be reached.
   */
  missing(topics: Iterable<string>): Promise<Set<string>>;
  /** Checks `topic` again next time (the broker said it does not know it). */
  forget(topic: string): void;
  close(): Promise<void>;
}

export function createTopicRegistry(client: Kafka, creation: TopicCreation | undefined): TopicRegistry {
  const known = new Set<string>();
  let admin: Admin | undefined;
  let closed = false;

  async function connectedAdmin(): Promise<Admin> {
    if (admin !== undefined) return admin;
    const fresh = client.admin({ retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 } });
    await fresh.connect();
    if (closed) {
      // close() ran while we were connecting: it could not see this client.
      await fresh.disconnect().catch(() => {});
      throw new AuditeError('SINK_UNAVAILABLE', 'Kafka sink closed');
    }
    admin = fresh;
    return fresh;
  }

  async function dropAdmin(): Promise<void> {
    const old = admin;
    admin = undefined;
    await old?.disconnect().catch(() => {});
  }

  return {
    async missing(topics) {
      const unknown = [...new Set(topics)].filter((t) => !known.has(t));
      if (unknown.length === 0) return new Set();
      try {
        const connected = await connectedAdmin();
        const existing = new Set(await connected.listTopics());
        const absent = unknown.filter((t) => !existing.has(t));
        if (absent.length > 0 && creation !== undefined) {
          await connected.createTopics({
            topics: absent.map((topic) => ({ topic, numPartitions: creation.partitions, replicationFactor: creation.replicationFactor })),
            waitForLeaders: true,
          });
          absent.length = 0;
        }
        for (const t of unknown) if (!absent.includes(t)) known.add(t);
        return new Set(absent);
      } catch (error) {
        // A fresh admin next time: kafkajs may keep a dead connection around.
        await dropAdmin();
        throw error;
      }
    },
    forget(topic) {
      known.delete(topic);
    },
    async close() {
      closed = true;
      await dropAdmin();
    },
  };
}
