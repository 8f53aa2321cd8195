import kafkajs from 'kafkajs';

// kafkajs is CommonJS and spreads its errors into module.exports: Node cannot see them as named exports.
const { KafkaJSProtocolError, KafkaJSSASLAuthenticationError } = kafkajs;

/**
 * What a kafkajs failure means for delivery. kafkajs wraps the error that
 * matters (KafkaJSNumberOfRetriesExceeded, KafkaJSNonRetriableError), so the
 * cause chain is walked; errors are told apart by class and by the protocol
 * error's `type` (Kafka's error code name), never by message text.
 */
export type KafkaFailureKind =
  /** The record (batch) is too large or invalid for the broker: retrying cannot fix it. */
  | 'refused'
  /** The broker does not know the topic (deleted, or never created). */
  | 'unknown-topic'
  /** The broker lost or rejects the idempotent producer's state: a new producer is needed. */
  | 'producer-state'
  /** Credentials or ACLs: retried (nothing is lost) until an operator fixes them. */
  | 'auth'
  /** Anything else: network, broker down, leader election, timeouts. Retried. */
  | 'transient';

export interface KafkaFailure {
  kind: KafkaFailureKind;
  /** Short, data-free description for health() and logs: error class, Kafka error type, socket code. */
  reason: string;
}

const REFUSED = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'INVALID_REQUIRED_ACKS']);
const PRODUCER_STATE = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
const AUTH = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const MAX_DEPTH = 6;

export function classifyKafkaError(error: unknown): KafkaFailure {
  const chain = causeChain(error);
  const protocol = chain.find((e) => e instanceof KafkaJSProtocolError);
  const type = protocol?.type;
  const reason = describe(chain, type);
  if (type !== undefined) {
    if (REFUSED.has(type)) return { kind: 'refused', reason };
    if (type === 'UNKNOWN_TOPIC_OR_PARTITION') return { kind: 'unknown-topic', reason };
    if (PRODUCER_STATE.has(type)) return { kind: 'producer-state', reason };
    if (AUTH.has(type)) return { kind: 'auth', reason };
  }
  if (chain.some((e) => e instanceof KafkaJSSASLAuthenticationError)) return { kind: 'auth', reason };
  return { kind: 'transient', reason };
}

function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && chain.length < MAX_DEPTH && !chain.includes(e);) {
    chain.push(e);
    if (typeof e !== 'object') break;
    // KafkaJSAggregateError (createTopics) carries its errors in `errors`, not `cause`.
    const { cause, errors } = e as { cause?: unknown; errors?: unknown };
    e = cause ?? (Array.isArray(errors) ? errors[0] : undefined);
  }
  return chain;
}

/** e.g. `KafkaJSNumberOfRetriesExceeded: KafkaJSConnectionError (ECONNREFUSED)`, `KafkaJSNonRetriableError: KafkaJSProtocolError MESSAGE_TOO_LARGE`. */
function describe(chain: readonly unknown[], type: string | undefined): string {
  const names = chain.filter((e): e is Error => e instanceof Error).map((e) => e.name);
  const first = names[0] ?? 'unknown error';
  const last = names.at(-1);
  let text = last === undefined || last === first ? first : `${first}: ${last}`;
  if (type !== undefined) text += ` ${type}`;
  const code = chain.map(socketCode).find((c) => c !== undefined);
  if (code !== undefined) text += ` (${code})`;
  return text;
}

function socketCode(e: unknown): string | undefined {
  if (typeof e !== 'object' || e === null || !('code' in e)) return undefined;
  const { code } = e as { code: unknown };
  // KafkaJSProtocolError's numeric code is Kafka's; its name is already in `type`.
  return typeof code === 'string' ? code : undefined;
}
