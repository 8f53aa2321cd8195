import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { createWebhookSigner, decodeSecret, signWebhook } from '../../src/sinks/webhook-signature.ts';

describe('Standard Webhooks signature', () => {
  test('reproduces the specification test vector', () => {
    const signer = createWebhookSigner('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
    expect(signer.headers('msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toEqual({
      'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'webhook-timestamp': '1614265330',
      'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    });
  });

  test('matches an independent HMAC over id.timestamp.body, with or without the prefix', () => {
    const key = randomBytes(32);
    const body = '{"n":9007199254740993,"s":"Zoë"}';
    const expected = `v1,${createHmac('sha256', key).update(`42.1700000000.${body}`).digest('base64')}`;
    expect(signWebhook(key, '42', 1_700_000_000, body)).toBe(expected);
    expect(decodeSecret(`whsec_${key.toString('base64')}`)).toEqual(key);
    expect(decodeSecret(key.toString('base64'))).toEqual(key);
  });

  test('a secret that is not base64 is a config error that does not echo it', () => {
    try {
      createWebhookSigner('whsec_not base64!');
      expect.unreachable();
    } catch (error) {
      expect(isAuditeError(error, 'CONFIG_INVALID')).toBe(true);
      expect((error as Error).message).not.toContain('not base64!');
    }
  });
});
