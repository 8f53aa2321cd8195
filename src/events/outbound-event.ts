/**
 * A feed event turned into a validated CloudEvent, kept in a form every
 * binding can serialise without re-parsing `data`.
 */
export interface OutboundEvent {
  /** Feed position, for checkpointing. */
  position: number;
  /** CloudEvents context attributes and extensions, all as strings (id, source, type, subject, time, specversion, datacontenttype, sequence, actor, …). */
  attributes: Readonly<Record<string, string>>;
  /** The event's data as raw JSON text, or null. */
  data: string | null;
  /** Row identity (table + subject): the partition key for ordered sinks. */
  key: string;
  /** The source table, for topic templates. */
  table: string;
  /** True for a `.deleted` event (tombstones). */
  deleted: boolean;
}
