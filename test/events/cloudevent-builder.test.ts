import { CloudEvent } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { createEventBuilder, PoisonEventError, rowKey } from '../../src/events/cloudevent-builder.ts';
import { extensionName } from '../../src/events/extension-names.ts';
import type { FeedEvent } from '../../src/events/feed-event.ts';

function feed(overrides: Partial<FeedEvent> = {}): FeedEvent {
  return {
    id: 42,
    table: 'orders',
    subject: '7',
    type: 'orders.updated',
    time: 1_700_000_000,
    specversion: '1.0',
    data: '{"new":{"id":7,"total":9007199254740993},"old":{"id":7,"total":1}}',
    context: null,
    ...overrides,
  };
}

function poison(run: () => unknown): PoisonEventError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(PoisonEventError);
    return error as PoisonEventError;
  }
  throw new Error('expected a PoisonEventError');
}

describe('createEventBuilder', () => {
  test('maps a feed row to CloudEvent attributes, keeping data as raw text', () => {
    const build = createEventBuilder();
    const event = feed();
    const out = build(event);
    expect(out).toEqual({
      position: 42,
      attributes: {
        specversion: '1.0',
        id: '42',
        source: 'orders',
        type: 'orders.updated',
        subject: '7',
        time: '2023-11-14T22:13:20.000Z',
        datacontenttype: 'application/json',
        sequence: '00000000000000000042',
      },
      data: event.data,
      key: '["orders","7"]',
      table: 'orders',
      deleted: false,
    });
    expect(out.data).toBe(event.data);
    // The attributes make a valid CloudEvent on their own.
    expect(new CloudEvent({ ...out.attributes }).validate()).toBe(true);
  });

  test('id and sequence are stable and the sequence sorts as text', () => {
    const build = createEventBuilder();
    expect(build(feed({ id: 1 })).attributes.sequence).toBe('00000000000000000001');
    expect(build(feed({ id: 123456789012 })).attributes.sequence).toBe('00000000123456789012');
    expect(build(feed()).attributes.id).toBe(build(feed()).attributes.id);
  });

  test('deleted events, null data, and an empty subject', () => {
    const build = createEventBuilder();
    const out = build(feed({ type: 'orders.deleted', data: null, subject: '' }));
    expect(out.deleted).toBe(true);
    expect(out.data).toBeNull();
    expect(out.attributes).not.toHaveProperty('subject');
    expect(out.key).toBe('["orders",""]');
  });

  test('source template substitutes the percent-encoded table name', () => {
    const build = createEventBuilder({ sourceTemplate: 'sqlite://billing/{table}' });
    expect(build(feed()).attributes.source).toBe('sqlite://billing/orders');
    expect(build(feed({ table: 'order items' })).attributes.source).toBe('sqlite://billing/order%20items');
    expect(build(feed({ table: 'a/b:c' })).attributes.source).toBe('sqlite://billing/a%2Fb%3Ac');
  });

  test('the default source is the table name, encoded when it would not be a URI-reference', () => {
    const build = createEventBuilder();
    expect(build(feed({ table: 'ns:orders' })).attributes.source).toBe('ns%3Aorders');
    expect(build(feed({ table: 'Zoë' })).attributes.source).toBe('Zo%C3%AB');
  });

  test('a template that cannot give a URI-reference is a config error', () => {
    try {
      createEventBuilder({ sourceTemplate: 'not a uri {table}' });
      expect.unreachable();
    } catch (error) {
      expect(isAuditeError(error, 'CONFIG_INVALID')).toBe(true);
    }
  });

  test('the key is unambiguous when table or subject contain ":"', () => {
    expect(rowKey('a:b', 'c')).not.toBe(rowKey('a', 'b:c'));
    expect(JSON.parse(rowKey('a:b', 'c'))).toEqual(['a:b', 'c']);
  });

  test('invalid data JSON is a poison event carrying the feed id, with no payload in the message', () => {
    const build = createEventBuilder();
    const error = poison(() => build(feed({ id: 9, data: '{"secret":"hunter2"' })));
    expect(error.position).toBe(9);
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).not.toContain('hunter2');
    expect(error.cause).toBeUndefined();
  });

  test('unsupported specversion, invalid time and invalid type are poison events', () => {
    const build = createEventBuilder();
    expect(poison(() => build(feed({ specversion: '0.3' }))).position).toBe(42);
    expect(poison(() => build(feed({ time: Number.NaN }))).position).toBe(42);
    expect(poison(() => build(feed({ type: '' }))).position).toBe(42);
  });
});

describe('context extensions', () => {
  const build = createEventBuilder();

  test('well-known keys become lower-case a-z0-9 extensions', () => {
    const context = '{"actor":"alice","reason":"refund","impersonated_by":"root","request_id":"r-1"}';
    expect(build(feed({ context })).attributes).toMatchObject({
      actor: 'alice',
      reason: 'refund',
      impersonatedby: 'root',
      requestid: 'r-1',
    });
  });

  test('values become strings; numbers keep their exact digits, also nested', () => {
    const context = '{"n":9007199254740993,"f":1.50,"b":true,"o":{"big":12345678901234567890,"a":[1,"x"]},"nul":null,"s":""}';
    const attributes = build(feed({ context })).attributes;
    expect(attributes.n).toBe('9007199254740993');
    expect(attributes.f).toBe('1.50');
    expect(attributes.b).toBe('true');
    expect(attributes.o).toBe('{"big":12345678901234567890,"a":[1,"x"]}');
    expect(attributes).not.toHaveProperty('nul');
    expect(attributes.s).toBe('');
  });

  test('free-form keys are normalised; empty and reserved names are dropped', () => {
    const context = '{"Tenant-ID":"t1","__":"x","source":"evil","id":"evil","sequence":"evil","Data":"evil","ü":"x"}';
    const attributes = build(feed({ context }));
    expect(attributes.attributes).toMatchObject({ tenantid: 't1', source: 'orders', id: '42' });
    expect(attributes.attributes.sequence).toBe('00000000000000000042');
    expect(Object.keys(attributes.attributes)).not.toContain('data');
    expect(Object.keys(attributes.attributes).every((name) => /^[a-z0-9]+$/.test(name))).toBe(true);
  });

  test('on a collision the canonical key wins, else the first', () => {
    expect(build(feed({ context: '{"Actor":"b","actor":"a"}' })).attributes.actor).toBe('a');
    expect(build(feed({ context: '{"actor":"a","Actor":"b"}' })).attributes.actor).toBe('a');
    expect(build(feed({ context: '{"request-id":"x","request_id":"y"}' })).attributes.requestid).toBe('y');
    expect(build(feed({ context: '{"Foo_Bar":"1","FOO-BAR":"2"}' })).attributes.foobar).toBe('1');
  });

  test('extensionName rules', () => {
    expect(extensionName('impersonated_by')).toBe('impersonatedby');
    expect(extensionName('request_id')).toBe('requestid');
    expect(extensionName('time')).toBeUndefined();
    expect(extensionName('_')).toBeUndefined();
    expect(extensionName('partition_key')).toBeUndefined();
  });

  test('a context that is not a JSON object is a poison event', () => {
    expect(poison(() => build(feed({ id: 5, context: '[1]' }))).position).toBe(5);
    expect(poison(() => build(feed({ id: 6, context: '{' }))).position).toBe(6);
    expect(build(feed({ context: 'null' })).attributes).not.toHaveProperty('actor');
  });

  test('consecutive events sharing a context reuse it without sharing attribute objects', () => {
    const context = '{"actor":"alice"}';
    const a = build(feed({ id: 1, context }));
    const b = build(feed({ id: 2, context }));
    expect(a.attributes.actor).toBe('alice');
    expect(b.attributes.actor).toBe('alice');
    expect(a.attributes).not.toBe(b.attributes);
    expect(a.attributes.id).toBe('1');
  });
});
