import { AuditeError } from '../errors.ts';

/**
 * Topic names from the sink's `topic` setting: a fixed name, or a template in
 * which every `{table}` becomes the table name, e.g. `audite.{table}`.
 *
 * Kafka allows only `[A-Za-z0-9._-]`, at most 249 characters, and not `.` or
 * `..`. A table name is made legal by replacing every other character (each
 * code point) with `_`, so different tables can share a topic: `order items`
 * and `order_items` both give `audite.order_items`, `ärger` and `_rger` both
 * give `audite._rger`. Nothing is lost or misrouted when that happens: the key
 * (`["table","subject"]`), ce_source and ce_type still carry the real table
 * name, and per-row order holds. (Kafka also warns that `.` and `_` collide in
 * its metric names; that affects metrics only.)
 */

const MAX_TOPIC_LENGTH = 249;
const PLACEHOLDER = '{table}';
const LEGAL = /^[A-Za-z0-9._-]+$/;
const ILLEGAL_CHAR = /[^A-Za-z0-9._-]/gu;

/** A table whose topic name cannot be built (too long): retrying cannot fix it. */
export class TopicNameError extends AuditeError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
    this.name = 'TopicNameError';
  }
}

export type TopicResolver = (table: string) => string;

/** Validates the setting once (CONFIG_INVALID); the resolver throws TopicNameError for a table it cannot map. */
export function createTopicResolver(setting: string): TopicResolver {
  const parts = setting.split(PLACEHOLDER);
  const fixed = parts.length === 1;
  // The static text must be legal on its own; a placeholder always yields at least one character.
  const sample = parts.join('x');
  if (!LEGAL.test(sample) || sample.length > MAX_TOPIC_LENGTH || (fixed && (setting === '.' || setting === '..'))) {
    throw new AuditeError(
      'CONFIG_INVALID',
      `Kafka sink topic ${JSON.stringify(setting)} is not a legal topic name or template: use [A-Za-z0-9._-], at most ${MAX_TOPIC_LENGTH} characters, and {table} for the table name`,
    );
  }
  if (fixed) return () => setting;

  const cache = new Map<string, string>();
  return (table) => {
    let topic = cache.get(table);
    if (topic === undefined) {
      topic = parts.join(sanitizeTableName(table));
      if (topic.length > MAX_TOPIC_LENGTH) {
        throw new TopicNameError(`the topic name for table ${JSON.stringify(table)} would be longer than ${MAX_TOPIC_LENGTH} characters`);
      }
      // `{table}` alone with table "." or "..": not a legal topic.
      if (topic === '.' || topic === '..') topic = topic.replaceAll('.', '_');
      cache.set(table, topic);
    }
    return topic;
  };
}

/** Every character Kafka does not allow in a topic name becomes `_`. */
export function sanitizeTableName(table: string): string {
  return table === '' ? '_' : table.replace(ILLEGAL_CHAR, '_');
}
