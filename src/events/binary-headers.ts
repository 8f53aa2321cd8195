import type { OutboundEvent } from './outbound-event.ts';

const DATA_CONTENT_TYPE = 'datacontenttype';

/**
 * Binary content mode, as every protocol binding defines it: each attribute
 * except datacontenttype becomes a `<prefix><name>` header, datacontenttype
 * becomes `content-type` (absent without data: no body to describe). The
 * bindings differ only in the prefix and in how a value is written.
 */
export function binaryHeaders(event: OutboundEvent, prefix: string, encode: (value: string) => string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name in event.attributes) {
    const value = event.attributes[name] as string;
    if (name === DATA_CONTENT_TYPE) {
      if (event.data !== null) headers['content-type'] = value;
    } else {
      headers[prefix + name] = encode(value);
    }
  }
  return headers;
}
