import { envelope } from './http-binding.ts';
import type { OutboundEvent } from './outbound-event.ts';
import { binaryHeaders } from './binary-headers.ts';

/**
 * CloudEvents 1.0 Kafka protocol binding (binary and structured modes).
 *
 * Written here rather than taken from the SDK: cloudevents@10's Kafka.binary()
 * output cannot go through kafkajs as it is. It sets a header for every
 * attribute the SDK knows, present or not: absent ones (subject, dataschema,
 * content-type, …) are `undefined`, which kafkajs writes as null-valued
 * headers that every reader then sees; extension values stay numbers or
 * booleans, while the binding wants UTF-8 strings (§3.2.3) and kafkajs's
 * header type takes only strings and Buffers; it repeats datacontenttype as
 * `ce_datacontenttype`; and its value is `data` as an object, which kafkajs
 * turns into the text "[object Object]" (and which, parsed from our text,
 * would have rounded integers beyond 2^53). Here the event's raw JSON text
 * becomes the value untouched, so big integers arrive byte for byte.
 *
 * The SDK also sets the record timestamp to the event time. We leave it to the
 * producer (send time): a backlog of old events stamped with their own times
 * could be deleted by time-based retention right after it is written.
 *
 * Both modes also carry the row identity (the message key) as the
 * `partitionkey` extension (CloudEvents partitioning extension), so a reader
 * that only sees the event still knows its ordering key.
 */

/** A Kafka record without topic or partition: the partitioner picks the partition from the key. */
export interface KafkaRecord {
  key: string;
  /** null: no value (binary mode without data; tombstones). */
  value: string | null;
  /** Header name → UTF-8 string value; never undefined, numbers or objects. */
  headers: Record<string, string>;
}

export const KAFKA_STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=UTF-8';

const HEADER_PREFIX = 'ce_';
const PARTITION_KEY = 'partitionkey';

/**
 * Binary mode: every attribute except datacontenttype as a `ce_<name>` header
 * (values as they are: Kafka headers are bytes, so no percent-encoding as in
 * HTTP), datacontenttype as `content-type`, data as the value.
 *
 * An event without data has a null value, as §3.2.2 prescribes; on a compacted
 * topic such a record is a tombstone. (audite's events always carry data, an
 * object with "new" and "old"; only a hand-written feed row could lack it.)
 * There is then no `content-type`: no value to describe.
 */
export function kafkaBinary(event: OutboundEvent): KafkaRecord {
  const headers = binaryHeaders(event, HEADER_PREFIX, (value) => value);
  headers[HEADER_PREFIX + PARTITION_KEY] = event.key;
  return { key: event.key, value: event.data, headers };
}

/**
 * Structured mode: the JSON event format envelope as the value (the same
 * envelope as HTTP and stdout, data spliced in raw), with `partitionkey` among
 * its attributes. The binding's optional ce_ headers are not repeated (§3.3.3).
 */
export function kafkaStructured(event: OutboundEvent): KafkaRecord {
  const withKey: OutboundEvent = { ...event, attributes: { ...event.attributes, [PARTITION_KEY]: event.key } };
  return { key: event.key, value: envelope(withKey), headers: { 'content-type': KAFKA_STRUCTURED_CONTENT_TYPE } };
}

/**
 * The record that makes a compacted topic drop a deleted row: same key (hence
 * same partition, right after the delete event), null value. No headers: it is
 * not a CloudEvent, and ce_ headers would make CloudEvents readers see a second
 * event with the delete's id.
 */
export function kafkaTombstone(event: OutboundEvent): KafkaRecord {
  return { key: event.key, value: null, headers: {} };
}

/** The record's size on the wire, roughly: what batching by bytes counts. */
export function recordBytes(record: KafkaRecord): number {
  // Per record and per header: varint lengths, attributes, offset and timestamp deltas.
  let bytes = 24 + Buffer.byteLength(record.key);
  if (record.value !== null) bytes += Buffer.byteLength(record.value);
  for (const name in record.headers) bytes += 4 + name.length + Buffer.byteLength(record.headers[name] as string);
  return bytes;
}
