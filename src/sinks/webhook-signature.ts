import { createHmac } from 'node:crypto';
import { AuditeError } from '../errors.ts';

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com/):
 *   webhook-signature = "v1," + base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`))
 * where the key is the base64 text after the `whsec_` prefix of the secret.
 * The id stays the same across retries (receivers deduplicate on it); the
 * timestamp and signature are fresh per attempt because receivers reject
 * timestamps outside a tolerance window (typically 5 minutes).
 */

export interface WebhookSigner {
  /** The three Standard Webhooks headers for one attempt. */
  headers(id: string, timestampSeconds: number, body: string): Record<string, string>;
}

const PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function createWebhookSigner(secret: string): WebhookSigner {
  const key = decodeSecret(secret);
  return {
    headers: (id, timestampSeconds, body) => ({
      'webhook-id': id,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': signWebhook(key, id, timestampSeconds, body),
    }),
  };
}

/** The `v1,<base64>` signature of one message. */
export function signWebhook(key: Uint8Array, id: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

/** The HMAC key from a `whsec_<base64>` secret (the prefix is optional, as in the reference libraries). */
export function decodeSecret(secret: string): Buffer {
  const encoded = secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret;
  // Never echo the secret: the message names only what is wrong with it.
  if (!BASE64.test(encoded)) {
    throw new AuditeError('CONFIG_INVALID', 'webhook signing secret must be base64 after the "whsec_" prefix');
  }
  return Buffer.from(encoded, 'base64');
}
