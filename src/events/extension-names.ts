/**
 * How keys of the who/why context object become CloudEvents extension names.
 *
 * The spec allows only `[a-z0-9]` in attribute names, so a key is lower-cased
 * and stripped of every other character: `impersonated_by` → `impersonatedby`,
 * `request_id` → `requestid`, `Tenant-ID` → `tenantid`. Names are not
 * truncated to the spec's recommended 20 characters: truncating would create
 * collisions, and "SHOULD NOT exceed" is advice, not a rule.
 *
 * Free-form keys are not prefixed: they are chosen by the application that
 * writes the context, and readable names (`tenant`, not `ctxtenant`) are what
 * its consumers filter on. The price is that a few names are unavailable:
 * a key whose name comes out empty or reserved (below) is dropped.
 *
 * When two keys normalise to the same name, a key already in canonical form
 * (or one of the four well-known audite keys) wins over one that needed
 * normalising; otherwise the first in document order wins. So
 * `{"actor":"a","Actor":"b"}` gives `actor: a` whatever the key order.
 */

/** Names no context key may take. */
export const RESERVED_EXTENSION_NAMES: ReadonlySet<string> = new Set([
  // Core attributes and the JSON format's data members (data_base64 normalised).
  'id',
  'source',
  'specversion',
  'type',
  'datacontenttype',
  'dataschema',
  'subject',
  'time',
  'data',
  'database64',
  // CloudEvents 0.3 names the SDK rejects or treats specially on a 1.0 event.
  'schemaurl',
  'datacontentencoding',
  // audite's own extensions: the feed position and the Kafka partition key.
  'sequence',
  'sequencetype',
  'partitionkey',
  // Methods of the SDK's CloudEvent that an own property would shadow.
  'validate',
  'emit',
  'constructor',
]);

/** The context keys audite's capture writes itself. */
export const WELL_KNOWN_CONTEXT_KEYS: ReadonlySet<string> = new Set(['actor', 'reason', 'impersonated_by', 'request_id']);

const INVALID_NAME_CHARS = /[^a-z0-9]/g;
const VALID_NAME = /^[a-z0-9]+$/;

/** The extension name for a context key, or undefined when the key must be dropped. */
export function extensionName(key: string): string | undefined {
  const name = VALID_NAME.test(key) ? key : key.toLowerCase().replace(INVALID_NAME_CHARS, '');
  if (name === '' || RESERVED_EXTENSION_NAMES.has(name)) return undefined;
  return name;
}

/** Whether a key takes precedence over another key normalising to the same name. */
export function isCanonicalKey(key: string): boolean {
  return VALID_NAME.test(key) || WELL_KNOWN_CONTEXT_KEYS.has(key);
}
