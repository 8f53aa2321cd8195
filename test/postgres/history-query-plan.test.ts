// On PostgreSQL too, the history of one record and one actor's day come from the opt-in history indexes, not a scan.
import { describe, expect, test } from 'vitest';
import { pgHistoryIndexes } from '../../src/capture/postgres/pg-feed-schema.ts';
import type { HistoryFilter } from '../../src/history/history-query.ts';
import { connectPostgres } from '../../src/postgres/connect.ts';
import { pgFeed } from '../../src/history/postgres/pg-feed.ts';
import { buildPgHistoryQuery } from '../../src/history/postgres/pg-history-query.ts';
import { PG_ACTOR_INDEX, PG_SOURCE_SUBJECT_INDEX, PG_TIME_INDEX } from '../../src/history/postgres/pg-index-hint.ts';
import { auditPg, collect, withStore, type AuditPg } from './history-support.ts';

const START = Date.UTC(2024, 0, 1) / 1000;
const DAY = 86_400;
const record: HistoryFilter = { tables: ['orders'], keys: ['42'] };
const actorDay: HistoryFilter = { actors: ['user-7'], since: START + 3 * DAY, until: START + 4 * DAY };

/** 20,000 events over three tables, 500 records, 20 actors and ten days; one in ten without a context. */
async function feedDb(options: { indexes: boolean }): Promise<AuditPg> {
  const db = await auditPg('CREATE TABLE orders (id int PRIMARY KEY); CREATE TABLE users (id int PRIMARY KEY); CREATE TABLE items (id int PRIMARY KEY)', {
    historyIndexes: options.indexes,
  });
  await db.app.query(
    `INSERT INTO audite.changefeed (source, subject, type, time, data, context)
     SELECT t.source, (g % 500)::text, t.source || '.updated', to_timestamp(${START} + g * (10 * ${DAY} / 20000.0)),
            jsonb_build_object('new', jsonb_build_object('id', g % 500, 'v', g), 'old', jsonb_build_object('id', g % 500, 'v', g - 1)),
            CASE WHEN g % 10 = 0 THEN NULL ELSE jsonb_build_object('actor', 'user-' || (g % 20)) END
       FROM generate_series(1, 20000) AS g, LATERAL (SELECT (ARRAY['orders', 'users', 'items'])[1 + g % 3] AS source) AS t`,
  );
  await db.app.query('ANALYZE audite.changefeed');
  return db;
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

/** Every node of the plan, flattened: "Index Scan changefeed_…", "Seq Scan", "Sort", … */
async function plan(url: string, filter: HistoryFilter): Promise<string[]> {
  const client = await connectPostgres(url);
  try {
    const query = await buildPgHistoryQuery(pgFeed(client, url, 'audite'), filter);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (FORMAT JSON) ${query.sql}`, query.params);
    const [top] = JSON.parse(rows[0]?.['QUERY PLAN'] ?? '[]') as { Plan: PlanNode }[];
    const nodes: string[] = [];
    const walk = (node: PlanNode): void => {
      nodes.push(node['Index Name'] === undefined ? node['Node Type'] : `${node['Node Type']} ${node['Index Name']}`);
      node.Plans?.forEach(walk);
    };
    if (top !== undefined) walk(top.Plan);
    return nodes;
  } finally {
    await client.end();
  }
}

const usesIndex = (nodes: string[], index: string): boolean =>
  nodes.some((n) => /^(Index Scan|Index Only Scan|Bitmap Index Scan)/.test(n) && n.endsWith(index));

describe('EXPLAIN on PostgreSQL', () => {
  test('with the history indexes: the record and the actor queries use them, no sequential scan', async () => {
    const { url } = await feedDb({ indexes: true });
    const history = await plan(url, record);
    expect(usesIndex(history, PG_SOURCE_SUBJECT_INDEX)).toBe(true);
    expect(history).not.toContain('Seq Scan');
    expect(usesIndex(await plan(url, { ...record, newestFirst: true, limit: 10 }), PG_SOURCE_SUBJECT_INDEX)).toBe(true);

    const actor = await plan(url, actorDay);
    expect(usesIndex(actor, PG_ACTOR_INDEX)).toBe(true);
    expect(actor).not.toContain('Seq Scan');
    expect(await plan(url, { ...actorDay, tables: ['orders', 'users'] })).not.toContain('Seq Scan');

    // A selective time range alone (one hour of ten days) uses the time index.
    expect(usesIndex(await plan(url, { since: START, until: START + 3600 }), PG_TIME_INDEX)).toBe(true);
    expect(await withStore(url, (s) => s.indexHint(actorDay))).toBeUndefined();
  });

  test('without them: the same answers from a scan, and a hint naming the missing index', async () => {
    const indexed = await feedDb({ indexes: true });
    const bare = await feedDb({ indexes: false });
    expect(await plan(bare.url, record)).toContain('Seq Scan');
    const ids = (url: string, filter: HistoryFilter): Promise<number[]> => withStore(url, async (s) => (await collect(s.history(filter))).map((e) => e.id));
    expect(await ids(bare.url, record)).toEqual(await ids(indexed.url, record));
    expect(await ids(bare.url, actorDay)).toEqual(await ids(indexed.url, actorDay));
    expect((await ids(bare.url, actorDay)).length).toBeGreaterThan(0);
    await withStore(bare.url, async (s) => {
      expect(await s.indexHint(record)).toMatch(new RegExp(`no index ${PG_SOURCE_SUBJECT_INDEX}.*audite enable postgres://.* --history-indexes`));
      expect(await s.indexHint(actorDay)).toContain(PG_ACTOR_INDEX);
      expect(await s.indexHint({ since: START })).toContain(PG_TIME_INDEX);
      expect(await s.indexHint({})).toBeUndefined();
    });
  });

  test('the index names the hint uses are the ones pg-feed-schema creates', () => {
    expect(pgHistoryIndexes('x').map((i) => i.name)).toEqual([PG_SOURCE_SUBJECT_INDEX, PG_TIME_INDEX, PG_ACTOR_INDEX]);
  });
});
