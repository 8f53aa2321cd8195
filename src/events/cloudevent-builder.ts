import { CloudEvent } from 'cloudevents';
import { AuditeError } from '../errors.ts';
import { extensionName, isCanonicalKey } from './extension-names.ts';
import type { FeedEvent } from './feed-event.ts';
import type { OutboundEvent } from './outbound-event.ts';

/**
 * Feed row → validated CloudEvent attributes + raw data.
 *
 * Why the SDK never sees `data`: cloudevents@10's constructor would keep a
 * string as is, but its serialisers then treat it as a JSON *string*
 * (`structured()` emits `"data":"{\"new\":…}"`), and handing it the parsed
 * object instead would round integers beyond 2^53 on the way in. So the SDK
 * builds and validates the context attributes (names, required attributes,
 * URI-reference source, RFC 3339 time) and the raw JSON text rides beside it,
 * checked here with a plain JSON.parse. Our bindings (http-binding.ts) splice
 * the raw text into every wire format.
 */

export interface EventBuilderOptions {
  /**
   * e.g. `sqlite://billing/{table}`: every `{table}` becomes the percent-encoded
   * table name. Default: the table name alone (percent-encoded where needed).
   */
  sourceTemplate?: string;
}

export type EventBuilder = (event: FeedEvent) => OutboundEvent;

/**
 * A feed row that cannot become a valid CloudEvent (data that is not JSON, a
 * context that is not a JSON object, an unsupported specversion, …). Retrying
 * cannot fix it: the consumer applies its permanent-failure policy to `position`.
 */
export class PoisonEventError extends AuditeError {
  /** Feed id of the offending row. */
  readonly position: number;

  constructor(position: number, message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `feed event ${position}: ${message}`, options);
    this.name = 'PoisonEventError';
    this.position = position;
  }
}

const SPEC_VERSION = '1.0';
const DATA_CONTENT_TYPE = 'application/json';
const SEQUENCE_WIDTH = 20;

// Node >= 22 implements JSON.parse source text access and JSON.rawJSON; TypeScript's lib does not declare them yet.
type Reviver = (this: unknown, key: string, value: unknown, context: { source?: string }) => unknown;
interface JsonWithSource {
  parse(text: string, reviver: Reviver): unknown;
  rawJSON(text: string): object;
  isRawJSON(value: unknown): value is { rawJSON: string };
}
const JSONS = JSON as unknown as JsonWithSource;

// Numbers become raw JSON so both a top-level value and JSON.stringify of a nested one keep their exact digits.
const exactNumbers: Reviver = (_key, value, context) => (typeof value === 'number' && context.source !== undefined ? JSONS.rawJSON(context.source) : value);

export function createEventBuilder(options: EventBuilderOptions = {}): EventBuilder {
  const sourceFor = sourceRenderer(options.sourceTemplate);
  // Events of one transaction share their context text: parse it once.
  let lastContext: string | null = null;
  // …and a batch shares its second: format it once.
  let lastTime = Number.NaN;
  let lastTimeText = '';
  const timeFor = (seconds: number, position: number): string => {
    if (seconds !== lastTime) {
      lastTimeText = rfc3339(seconds, position);
      lastTime = seconds;
    }
    return lastTimeText;
  };
  let lastExtensions: Readonly<Record<string, string>> = {};

  return (event) => {
    const position = event.id;
    if (event.specversion !== SPEC_VERSION) {
      throw new PoisonEventError(position, `unsupported specversion (only ${SPEC_VERSION} is supported)`);
    }
    const attributes: Record<string, string> = {
      specversion: SPEC_VERSION,
      id: String(position),
      source: sourceFor(event.table),
      type: event.type,
    };
    // The spec requires a non-empty subject when present: an empty one (an empty-text key) is left out.
    if (event.subject !== '') attributes.subject = event.subject;
    attributes.time = timeFor(event.time, position);
    attributes.datacontenttype = DATA_CONTENT_TYPE;
    attributes.sequence = String(position).padStart(SEQUENCE_WIDTH, '0');

    if (event.context !== null) {
      if (event.context !== lastContext) {
        lastExtensions = contextExtensions(event.context, position);
        lastContext = event.context;
      }
      // Extensions go last, and can never overwrite a core attribute: extensionName() drops reserved names.
      Object.assign(attributes, lastExtensions);
    }

    if (event.data !== null) {
      if (event.dataValid === false) throw new PoisonEventError(position, 'data is not valid JSON');
      if (event.dataValid === undefined) assertJson(event.data, position);
    }

    try {
      new CloudEvent(attributes);
    } catch (error) {
      // The SDK's ValidationError names attributes and rules, never their values.
      throw new PoisonEventError(position, 'not a valid CloudEvent', { cause: error });
    }

    return {
      position,
      attributes,
      data: event.data,
      key: rowKey(event.table, event.subject),
      table: event.table,
      deleted: event.type.endsWith('.deleted'),
    };
  };
}

/**
 * The row identity: JSON array text `["table","subject"]`. Unambiguous for any
 * table or subject (both may contain `:`), readable in Kafka tools, and
 * parseable by any consumer with JSON.parse.
 */
export function rowKey(table: string, subject: string): string {
  return JSON.stringify([table, subject]);
}

function sourceRenderer(template: string | undefined): (table: string) => string {
  const cache = new Map<string, string>();
  const render = (table: string): string => {
    // Percent-encoding keeps any table name a valid URI-reference ("a:b" would otherwise parse as a scheme).
    const encoded = encodeURIComponent(table);
    return template === undefined ? encoded : template.split('{table}').join(encoded);
  };
  if (template !== undefined) {
    try {
      new CloudEvent({ specversion: SPEC_VERSION, id: '1', type: 't', source: render('table') });
    } catch (error) {
      throw new AuditeError('CONFIG_INVALID', 'source template does not give a valid URI-reference', { cause: error });
    }
  }
  return (table) => {
    let source = cache.get(table);
    if (source === undefined) {
      source = render(table);
      cache.set(table, source);
    }
    return source;
  };
}

function rfc3339(unixSeconds: number, position: number): string {
  const date = new Date(unixSeconds * 1000);
  if (Number.isNaN(date.getTime())) throw new PoisonEventError(position, 'time is not a valid timestamp');
  return date.toISOString();
}

function assertJson(text: string, position: number): void {
  try {
    JSON.parse(text);
  } catch {
    // No cause: a SyntaxError's message quotes the payload, which must never reach the logs.
    throw new PoisonEventError(position, 'data is not valid JSON');
  }
}

/** The who/why context object as extension attributes (see extension-names.ts for the naming rules). */
export function contextExtensions(text: string, position: number): Readonly<Record<string, string>> {
  let parsed: unknown;
  try {
    parsed = JSONS.parse(text, exactNumbers);
  } catch {
    throw new PoisonEventError(position, 'context is not valid JSON');
  }
  if (parsed === null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed) || JSONS.isRawJSON(parsed)) {
    throw new PoisonEventError(position, 'context is not a JSON object');
  }

  const extensions: Record<string, string> = {};
  const canonical = new Set<string>();
  for (const [key, value] of Object.entries(parsed)) {
    const name = extensionName(key);
    if (name === undefined) continue;
    const text = extensionValue(value);
    if (text === undefined) continue;
    const isCanonical = isCanonicalKey(key);
    if (Object.hasOwn(extensions, name) && (canonical.has(name) || !isCanonical)) continue;
    extensions[name] = text;
    if (isCanonical) canonical.add(name);
  }
  return Object.freeze(extensions);
}

/** Strings as is; numbers as their exact JSON text; booleans, objects and arrays as JSON text; null → absent. */
function extensionValue(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string') return value;
  if (JSONS.isRawJSON(value)) return value.rawJSON;
  return JSON.stringify(value);
}
