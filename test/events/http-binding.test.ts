import { CloudEvent, HTTP } from 'cloudevents';
import { describe, expect, test } from 'vitest';
import { createEventBuilder } from '../../src/events/cloudevent-builder.ts';
import { batch, BATCH_CONTENT_TYPE, binary, encodeHeaderValue, envelope, structured, STRUCTURED_CONTENT_TYPE } from '../../src/events/http-binding.ts';
import type { FeedEvent } from '../../src/events/feed-event.ts';

const BIG = '9007199254740993'; // 2^53 + 1: a JS number would read it as ...992
const DATA = `{"new":{"id":${BIG},"note":"Zoë \\"q\\""},"old":null}`;

function event(overrides: Partial<FeedEvent> = {}) {
  return createEventBuilder()({
    id: 7,
    table: 'orders',
    subject: '1',
    type: 'orders.created',
    time: 1_700_000_000,
    specversion: '1.0',
    data: DATA,
    context: '{"actor":"Zoë Ünal","reason":"50% off \\"promo\\"","request_id":"r 1"}',
    ...overrides,
  });
}

describe('encodeHeaderValue', () => {
  test.each([
    ['plain', 'plain'],
    ['Zoë', 'Zo%C3%AB'],
    ['a b', 'a%20b'],
    ['100%', '100%25'],
    ['"quoted"', '%22quoted%22'],
    ['line\nbreak\t', 'line%0Abreak%09'],
    ['\u007f', '%7F'],
    ['😀', '%F0%9F%98%80'],
    ["!#$&'()*+,-./:;<=>?@[\\]^_`{|}~", "!#$&'()*+,-./:;<=>?@[\\]^_`{|}~"],
  ])('%j → %j', (input, expected) => {
    expect(encodeHeaderValue(input)).toBe(expected);
    expect(decodeURIComponent(encodeHeaderValue(input))).toBe(input);
  });
});

describe('binary mode', () => {
  test('ce- headers for every attribute, content-type from datacontenttype, raw body', () => {
    const message = binary(event());
    expect(message.headers).toEqual({
      'ce-specversion': '1.0',
      'ce-id': '7',
      'ce-source': 'orders',
      'ce-type': 'orders.created',
      'ce-subject': '1',
      'ce-time': '2023-11-14T22:13:20.000Z',
      'content-type': 'application/json',
      'ce-sequence': '00000000000000000007',
      'ce-actor': 'Zo%C3%AB%20%C3%9Cnal',
      'ce-reason': '50%25%20off%20%22promo%22',
      'ce-requestid': 'r%201',
    });
    expect(message.body).toBe(DATA);
    expect(message.body).toContain(BIG);
  });

  test('no data: empty body and no content-type', () => {
    const message = binary(event({ data: null }));
    expect(message.body).toBe('');
    expect(message.headers).not.toHaveProperty('content-type');
    expect(message.headers['ce-id']).toBe('7');
  });

  test('the SDK reads our binary message back as a valid event', () => {
    const message = binary(event({ context: null }));
    const parsed = HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent;
    expect(parsed.validate()).toBe(true);
    expect(parsed.id).toBe('7');
  });
});

describe('structured mode', () => {
  test('an envelope with raw data, parseable JSON, valid for the SDK', () => {
    const message = structured(event());
    expect(message.headers).toEqual({ 'content-type': STRUCTURED_CONTENT_TYPE });
    expect(message.body.endsWith(`,"data":${DATA}}`)).toBe(true);
    const parsed = JSON.parse(message.body) as Record<string, unknown>;
    expect(parsed).toMatchObject({ id: '7', actor: 'Zoë Ünal', reason: '50% off "promo"', requestid: 'r 1' });
    const viaSdk = HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent;
    expect(viaSdk.validate()).toBe(true);
    const { data: _data, ...attributes } = parsed;
    expect(new CloudEvent(attributes).validate()).toBe(true);
  });

  test('no data: no data member', () => {
    const body = structured(event({ data: null })).body;
    expect(JSON.parse(body)).not.toHaveProperty('data');
  });

  test('2^53+1 survives byte-exact', () => {
    const body = structured(event()).body;
    expect(body).toContain(`"id":${BIG}`);
    expect(body.slice(body.indexOf('"data":') + 7, -1)).toBe(DATA);
  });
});

describe('batch mode', () => {
  test('a JSON array of envelopes in order, big integers intact', () => {
    const events = [event({ id: 1 }), event({ id: 2, data: null }), event({ id: 3 })];
    const message = batch(events);
    expect(message.headers).toEqual({ 'content-type': BATCH_CONTENT_TYPE });
    expect(message.body).toBe(`[${events.map(envelope).join(',')}]`);
    const parsed = JSON.parse(message.body) as { id: string }[];
    expect(parsed.map((e) => e.id)).toEqual(['1', '2', '3']);
    expect(message.body.split(`"id":${BIG}`)).toHaveLength(3);
    const viaSdk = HTTP.toEvent({ headers: message.headers, body: message.body }) as CloudEvent[];
    expect(viaSdk).toHaveLength(3);
  });

  test('an empty batch is an empty array', () => {
    expect(batch([]).body).toBe('[]');
  });
});
