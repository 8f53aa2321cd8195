import { CloudEvent, Kafka } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import { envelope } from '../../src/events/http-binding.ts';
import { KAFKA_STRUCTURED_CONTENT_TYPE, kafkaBinary, kafkaStructured, kafkaTombstone, recordBytes } from '../../src/events/kafka-binding.ts';
import type { OutboundEvent } from '../../src/events/outbound-event.ts';

const BIG = '9007199254740993';
const build = createEventBuilder({ sourceTemplate: 'sqlite://app/{table}' });

function event(overrides: { data?: string | null; context?: string | null; type?: string; subject?: string } = {}): OutboundEvent {
  return build({
    id: 42,
    table: 'order items',
    subject: overrides.subject ?? '7',
    type: overrides.type ?? 'order items.updated',
    time: 1_700_000_000,
    specversion: '1.0',
    data: overrides.data === undefined ? `{"new":{"id":7,"big":${BIG},"name":"Zoë"},"old":{"id":7,"big":1}}` : overrides.data,
    context: overrides.context === undefined ? '{"actor":"Zoë","request_id":"r 1","attempt":3,"admin":true,"n":12345678901234567890}' : overrides.context,
  });
}

describe('Kafka binding: binary mode', () => {
  test('ce_ headers for every attribute but datacontenttype, content-type, raw data as the value, key = row identity', () => {
    const e = event();
    const record = kafkaBinary(e);
    expect(record.key).toBe('["order items","7"]');
    expect(record.value).toBe(e.data);
    expect(record.value).toContain(BIG);
    expect(record.headers).toEqual({
      ce_specversion: '1.0',
      ce_id: '42',
      ce_source: 'sqlite://app/order%20items',
      ce_type: 'order items.updated',
      ce_subject: '7',
      ce_time: '2023-11-14T22:13:20.000Z',
      'content-type': 'application/json',
      ce_sequence: '00000000000000000042',
      // Extensions: UTF-8 as is (no percent-encoding in Kafka headers), numbers and booleans as their JSON text.
      ce_actor: 'Zoë',
      ce_requestid: 'r 1',
      ce_attempt: '3',
      ce_admin: 'true',
      ce_n: '12345678901234567890',
      ce_partitionkey: '["order items","7"]',
    });
    expect(record.headers).not.toHaveProperty('ce_datacontenttype');
  });

  test('every header value is a string', () => {
    for (const e of [event(), event({ context: null }), event({ data: null }), event({ subject: '' })]) {
      for (const value of Object.values(kafkaBinary(e).headers)) expect(typeof value).toBe('string');
    }
  });

  test('no data: null value and no content-type (§3.2.2)', () => {
    const record = kafkaBinary(event({ data: null }));
    expect(record.value).toBeNull();
    expect(record.headers).not.toHaveProperty('content-type');
    expect(record.headers.ce_id).toBe('42');
  });

  test('an empty subject is left out, as the event builder leaves it out', () => {
    expect(kafkaBinary(event({ subject: '' })).headers).not.toHaveProperty('ce_subject');
  });

  test('the SDK reads our binary record back as the same event', () => {
    const e = event({ data: `{"new":{"id":7},"old":null}` });
    const record = kafkaBinary(e);
    const parsed = Kafka.toEvent({ key: record.key, value: record.value, headers: record.headers, body: record.value } as never) as CloudEvent<unknown>;
    expect(parsed.id).toBe('42');
    expect(parsed.partitionkey).toBe('["order items","7"]');
    expect(parsed.actor).toBe('Zoë');
    expect(parsed.data).toEqual({ new: { id: 7 }, old: null });
  });
});

describe('Kafka binding: structured mode', () => {
  test('the JSON envelope as the value, with partitionkey; data spliced in raw', () => {
    const e = event();
    const record = kafkaStructured(e);
    expect(record.key).toBe('["order items","7"]');
    expect(record.headers).toEqual({ 'content-type': KAFKA_STRUCTURED_CONTENT_TYPE });
    expect(KAFKA_STRUCTURED_CONTENT_TYPE).toBe('application/cloudevents+json; charset=UTF-8');
    expect(record.value).toContain(`"data":${e.data}`);
    expect(record.value).toContain(`"big":${BIG}`);
    const parsed = JSON.parse(record.value as string) as Record<string, unknown>;
    expect(parsed).toMatchObject({ specversion: '1.0', id: '42', datacontenttype: 'application/json', actor: 'Zoë', partitionkey: '["order items","7"]' });
    // Same envelope as HTTP/stdout, plus partitionkey.
    expect(record.value).toBe(envelope({ ...e, attributes: { ...e.attributes, partitionkey: e.key } }));
  });

  test('no data: still a value (never a tombstone in structured mode)', () => {
    const record = kafkaStructured(event({ data: null }));
    expect(record.value).not.toBeNull();
    expect(JSON.parse(record.value as string)).not.toHaveProperty('data');
  });

  test('the SDK reads our structured record back', () => {
    const record = kafkaStructured(event());
    const parsed = Kafka.toEvent({ key: record.key, value: record.value, headers: record.headers, body: record.value } as never) as CloudEvent<unknown>;
    expect(parsed.type).toBe('order items.updated');
    expect(parsed.partitionkey).toBe('["order items","7"]');
  });
});

describe('Kafka binding: tombstones and sizes', () => {
  test('a tombstone: same key, null value, no headers', () => {
    const e = event({ type: 'order items.deleted' });
    expect(e.deleted).toBe(true);
    expect(kafkaTombstone(e)).toEqual({ key: e.key, value: null, headers: {} });
  });

  test('recordBytes counts key, value and headers in UTF-8 bytes', () => {
    const small = { key: 'k', value: 'v', headers: {} };
    const bigger = { key: 'k', value: 'v'.repeat(1000), headers: { h: 'é' } };
    expect(recordBytes(bigger) - recordBytes(small)).toBe(999 + 4 + 1 + 2);
    expect(recordBytes({ key: 'k', value: null, headers: {} })).toBeLessThan(recordBytes(small));
  });

  test("why not the SDK's Kafka.binary(): undefined header values, non-string extensions, object values", () => {
    const sdk = Kafka.binary(new CloudEvent({ specversion: '1.0', id: '1', source: 's', type: 't', data: { big: 1 }, attempt: 3 }));
    const values = Object.values(sdk.headers as Record<string, unknown>);
    expect(values).toContain(undefined);
    expect(values).toContain(3);
    expect(typeof sdk.value).toBe('object');
  });
});
