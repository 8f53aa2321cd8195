// The state of a row as of an event id or a time, rebuilt from a PostgreSQL feed.
import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { as, auditPg, setTime, T0, withStore, type AuditPg } from './history-support.ts';

/**
 * items 1: created @T0 (1), renamed @T0+10.5 (2), deleted @T0+20 (3), re-created @T0+30 (4), table truncated @T0+40 (5).
 */
async function lifecycle(): Promise<AuditPg> {
  const db = await auditPg('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)', { capture: { items: {} } });
  const { app } = db;
  await app.query(`INSERT INTO items VALUES (1, 'a', 1.50)`);
  await as(app, { actor: 'bob' }, () => app.query(`UPDATE items SET name = 'b' WHERE id = 1`));
  await app.query('DELETE FROM items WHERE id = 1');
  await app.query(`INSERT INTO items VALUES (1, 'c', 3)`);
  await app.query('TRUNCATE items');
  for (const [i, time] of [T0, T0 + 10.5, T0 + 20, T0 + 30, T0 + 40].entries()) await setTime(app, i + 1, time);
  return db;
}

describe('rowAsOf on PostgreSQL', () => {
  test('walks the lifecycle by event id, a TRUNCATE included', async () => {
    const { url } = await lifecycle();
    await withStore(url, async (s) => {
      expect(await s.rowAsOf('items', '1', { eventId: 1 })).toMatchObject({ exists: true, row: { id: 1, name: 'a', price: 1.5 }, image: 'new' });
      expect(await s.rowAsOf('items', '1', { eventId: 2 })).toMatchObject({ exists: true, row: { name: 'b' }, event: { id: 2, context: { actor: 'bob' } } });
      expect(await s.rowAsOf('items', '1', { eventId: 3 })).toMatchObject({ exists: false, why: 'deleted', event: { id: 3 } });
      expect(await s.rowAsOf('items', '1', { eventId: 4 })).toMatchObject({ exists: true, row: { name: 'c' } });
      expect(await s.rowAsOf('items', '1', { eventId: 5 })).toMatchObject({ exists: false, why: 'deleted', event: { id: 5, op: 'truncated' } });
    });
  });

  test('by time: after every event stamped in or before that second (timestamptz keeps microseconds; the input covers its whole second)', async () => {
    const { url } = await lifecycle();
    await withStore(url, async (s) => {
      expect(await s.rowAsOf('items', '1', { time: T0 + 9 })).toMatchObject({ exists: true, row: { name: 'a' } });
      // Event 2 is stamped T0+10.5: "as of T0+10" covers it, as SQLite's whole-second stamps would.
      expect(await s.rowAsOf('items', '1', { time: T0 + 10 })).toMatchObject({ exists: true, row: { name: 'b' } });
      expect(await s.rowAsOf('items', '1', { time: T0 + 25 })).toMatchObject({ exists: false, why: 'deleted' });
      expect(await s.rowAsOf('items', '1', { time: T0 - 1 })).toMatchObject({ exists: false, why: 'not-yet-created', event: { id: 1 } });
    });
  });

  test('a row older than capture: its first event’s old image is the earlier state', async () => {
    const db = await auditPg('CREATE TABLE items (id int PRIMARY KEY, name text)');
    await db.app.query(
      `INSERT INTO audite.changefeed (source, subject, type, time, data) VALUES
        ('items', '1', 'items.updated', to_timestamp(${T0 + 100}), '{"new": {"id": 1, "name": "new"}, "old": {"id": 1, "name": "old"}}')`,
    );
    expect(await withStore(db.url, (s) => s.rowAsOf('items', '1', { time: T0 }))).toMatchObject({ exists: true, row: { name: 'old' }, image: 'old' });
  });

  test('an event id beyond the feed, or a key without history, is NOT_FOUND', async () => {
    const { url } = await lifecycle();
    await withStore(url, async (s) => {
      const beyond = await s.rowAsOf('items', '1', { eventId: 6 }).catch((e: unknown) => e);
      expect(isAuditeError(beyond, 'NOT_FOUND')).toBe(true);
      expect((beyond as Error).message).toBe("event id 6 is out of range: the feed's events are 1..5");
      const none = await s.rowAsOf('items', '2', { eventId: 1 }).catch((e: unknown) => e);
      expect((none as Error).message).toMatch(/items "2" has no history/);
    });
  });
});
