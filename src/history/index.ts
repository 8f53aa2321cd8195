// The audit layer's public API: history, field-level changes, point-in-time state, restore.
export { ACTOR_INDEX, actorIndexSql, ensureAuditIndexes, missingIndexFor } from './audit-indexes.ts';
export { CHANGE_OPS, decodeContext, type AuditContext, type AuditEvent, type ChangeOp } from './audit-event.ts';
export { parseFeedJson, sameValue, stringifyFeedJson, type RowImage, type SqlValue } from './feed-json.ts';
export { eventFieldChanges, fieldChanges, iterateFieldChanges, type FieldChange } from './field-changes.ts';
export { getEvent, parseAsOf, parseEventId } from './get-event.ts';
export { actorChanges, buildHistoryQuery, iterateHistory, queryHistory, recordHistory, type HistoryFilter, type HistoryQuery } from './history-query.ts';
export { rowAsOf, type AsOf, type RowVersion } from './point-in-time.ts';
export { planRestore, type RestoreOptions, type RestorePlan } from './restore-plan.ts';
export { restore, type RestoreResult } from './restore.ts';
export { diffRows, eventDiff, type FieldDiff } from './row-diff.ts';
export { formatTime, parseTimeInput } from './time-input.ts';
export type { AuditStore, OpenAuditStoreOptions, RestoreOutcome, RestorePreview } from './audit-store.ts';
export { openAuditStore } from './open-audit-store.ts';
export { sqliteAuditStore } from './sqlite-audit-store.ts';
export { pgAuditStore } from './postgres/pg-audit-store.ts';
