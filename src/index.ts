// audite as a library: capture, relay and audit on SQLite and PostgreSQL, with the CLI built on the same pieces.

// Capture
export { enable, type EnableOptions, type EnableResult } from './capture/enable.ts';
export { disable } from './capture/disable.ts';
export { withContext, type ChangeContext } from './capture/context.ts';
export { planEnable, type EnablePlan } from './capture/enable-plan.ts';
export type { CaptureSpec } from './capture/capture-spec.ts';
export { enablePostgres, type PgEnableOptions, type PgEnableResult } from './capture/postgres/pg-enable.ts';
export { disablePostgres, type PgDisableOptions } from './capture/postgres/pg-disable.ts';

// Relay
export { configSchema, type Config, type SinkConfig } from './config/config-schema.ts';
export { loadConfig } from './config/load-config.ts';
export { startRelay, type Relay } from './relay/relay.ts';
export { createLogger, silentLogger, type Logger } from './relay/logger.ts';
export { createEventBuilder } from './events/cloudevent-builder.ts';
export type { FeedEvent } from './events/feed-event.ts';
export type { OutboundEvent } from './events/outbound-event.ts';
export type { Sink, SinkHealth } from './sinks/sink.ts';
export type { ChangeSource, CheckpointStore, DeadLetterStore, FeedBackend } from './source/change-source.ts';
export { openSqliteBackend } from './source/sqlite-backend.ts';
export { openFeedBackend } from './source/open-backend.ts';
export { readFeedHeldBack } from './source/postgres/held-back.ts';
export type { FeedInspector, HeldBack } from './ops/feed-inspector.ts';

// Audit
export * from './history/index.ts';

// Shared
export { AuditeError, type ErrorCode } from './errors.ts';
export { openDatabase } from './sqlite/open-database.ts';
export type { SqliteDatabase } from './sqlite/sqlite-database.ts';
export { connectPostgres } from './postgres/connect.ts';
export type { PgClient } from './postgres/pg-client.ts';
