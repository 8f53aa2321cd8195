import type { SinkConfig } from '../config/config-schema.ts';
import { resolveSecret } from '../config/load-config.ts';
import type { Logger } from '../relay/logger.ts';
import { createHttpSink } from './http-sink.ts';
import type { Sink } from './sink.ts';
import { createFileSink, createStreamSink } from './stdout-sink.ts';

export interface SinkDeps {
  logger: Logger;
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream;
  /** Called for each failed delivery attempt the sink will retry. */
  onRetry?: () => void;
}

/** Turns a validated sink config into a Sink, resolving secrets from the environment. */
export async function createSink(config: SinkConfig, deps: SinkDeps): Promise<Sink> {
  switch (config.type) {
    case 'stdout':
      return createStreamSink({ stream: deps.stdout });
    case 'file':
      return createFileSink(config.path);
    case 'http': {
      const headers = Object.fromEntries(Object.entries(config.headers).map(([name, value]) => [name, resolveSecret(value, `headers.${name}`, deps.env)]));
      return createHttpSink(
        {
          url: config.url,
          method: config.method,
          headers,
          mode: config.mode,
          timeoutMs: config.timeoutMs,
          retry: { ...config.retry, maxRetries: config.retry.maxRetries ?? Number.POSITIVE_INFINITY },
          ...(config.signing ? { signing: { secret: resolveSecret(config.signing.secret, 'signing.secret', deps.env) } } : {}),
        },
        { logger: deps.logger, ...(deps.onRetry ? { onRetry: deps.onRetry } : {}) },
      );
    }
    case 'kafka': {
      // Loaded only when configured: kafkajs costs every other relay ~10 MB of memory for nothing.
      const { createKafkaSink } = await import('./kafka-sink.ts');
      return createKafkaSink(config, { logger: deps.logger, env: deps.env, ...(deps.onRetry ? { onRetry: deps.onRetry } : {}) });
    }
  }
}
