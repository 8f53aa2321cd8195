import { quoteIdent as q } from '../sqlite/quote.ts';
import { FEED_TABLE } from './feed-schema.ts';

/**
 * New feeds use a plain INTEGER PRIMARY KEY instead of AUTOINCREMENT, which
 * costs every captured write an extra b-tree update (and, for autocommit
 * writes, an extra WAL frame). SQLite then hands out max(id)+1, so ids stay
 * unique for ever as long as the newest event is never deleted and no id is
 * rewritten. These two triggers make the database itself enforce that, for
 * our pruner and for anyone typing DELETE by hand. They fire only on writes to
 * the feed, never on the app's writes.
 */
export const KEEP_HEAD_TRIGGER = 'audite_changefeed_keep_head_trigger';
export const FIXED_ID_TRIGGER = 'audite_changefeed_fixed_id_trigger';

export const guardTriggers = [
  {
    name: KEEP_HEAD_TRIGGER,
    sql: `CREATE TRIGGER ${q(KEEP_HEAD_TRIGGER)} BEFORE DELETE ON ${q(FEED_TABLE)}
WHEN OLD.id >= (SELECT max(id) FROM ${q(FEED_TABLE)})
BEGIN
  SELECT RAISE(ABORT, 'audite: the newest change-feed event is kept so that event ids are never reused; prune older events only');
END`,
  },
  {
    name: FIXED_ID_TRIGGER,
    sql: `CREATE TRIGGER ${q(FIXED_ID_TRIGGER)} BEFORE UPDATE OF id ON ${q(FEED_TABLE)}
BEGIN
  SELECT RAISE(ABORT, 'audite: change-feed event ids are immutable');
END`,
  },
] as const;
