import type { OutboundEvent } from './outbound-event.ts';
import { binaryHeaders } from './binary-headers.ts';

/**
 * CloudEvents 1.0 HTTP protocol binding (binary, structured, batch).
 *
 * Written here rather than taken from the SDK: cloudevents@10's HTTP.binary()
 * puts attribute values into `ce-` headers without the percent-encoding the
 * binding requires (§3.1.3.2), its structured() re-serialises `data` (so it
 * cannot carry our raw JSON text and would round big integers), and it has no
 * serialiser for the batch format. Every body here splices the event's raw
 * JSON text in untouched, so integers beyond 2^53 survive byte for byte.
 */

export interface HttpMessage {
  headers: Record<string, string>;
  body: string;
}

export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
export const BATCH_CONTENT_TYPE = 'application/cloudevents-batch+json; charset=utf-8';

const HEADER_PREFIX = 'ce-';

/** Binary mode: attributes as `ce-` headers, datacontenttype as Content-Type, data as the body. */
export function binary(event: OutboundEvent): HttpMessage {
  return { headers: binaryHeaders(event, HEADER_PREFIX, encodeHeaderValue), body: event.data ?? '' };
}

/** Structured mode: the whole event as one JSON envelope. */
export function structured(event: OutboundEvent): HttpMessage {
  return { headers: { 'content-type': STRUCTURED_CONTENT_TYPE }, body: envelope(event) };
}

/** Batch mode: a JSON array of envelopes, in the given order. */
export function batch(events: readonly OutboundEvent[]): HttpMessage {
  let body = '[';
  for (let i = 0; i < events.length; i++) {
    if (i > 0) body += ',';
    body += envelope(events[i] as OutboundEvent);
  }
  return { headers: { 'content-type': BATCH_CONTENT_TYPE }, body: body + ']' };
}

/**
 * The JSON event format envelope, built by concatenation: attribute names and
 * values are JSON-escaped, `data` is the raw JSON text (absent when null).
 */
export function envelope(event: OutboundEvent): string {
  let json = '{';
  let first = true;
  for (const name in event.attributes) {
    if (!first) json += ',';
    first = false;
    json += JSON.stringify(name) + ':' + JSON.stringify(event.attributes[name]);
  }
  if (event.data !== null) json += (first ? '' : ',') + '"data":' + event.data;
  return json + '}';
}

// Printable ASCII except space (0x20), '"' (0x22) and '%' (0x25) passes through.
const NEEDS_ENCODING = /[^\x21\x23\x24\x26-\x7e]/;

/**
 * Percent-encodes a `ce-` header value per §3.1.3.2: space, double quote,
 * percent and everything outside printable ASCII, the latter as UTF-8 bytes.
 */
export function encodeHeaderValue(value: string): string {
  if (!NEEDS_ENCODING.test(value)) return value;
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte >= 0x21 && byte <= 0x7e && byte !== 0x22 && byte !== 0x25
        ? String.fromCharCode(byte)
        : '%' + (byte < 0x10 ? '0' : '') + byte.toString(16).toUpperCase();
  }
  return out;
}
