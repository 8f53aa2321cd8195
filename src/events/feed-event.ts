/**
 * One committed row of the change feed, as a source hands it to the relay.
 * `data` and `context` stay raw JSON text end to end: parsing them into JS
 * numbers would corrupt integers beyond 2^53.
 */
export interface FeedEvent {
  /** Feed position; ids grow in commit order and are never reused. */
  id: number;
  /** Table name (audite's `source`). */
  table: string;
  subject: string;
  /** `<table>.created|updated|deleted` */
  type: string;
  /** Unix seconds. */
  time: number;
  specversion: string;
  /** `{"new":…,"old":…}` as captured, or null. */
  data: string | null;
  /** Set by a source that already checked `data` is valid JSON (SQLite's json_valid), so the builder need not parse it again. */
  dataValid?: boolean;
  /** Who/why JSON object as captured, or null. */
  context: string | null;
}
