import { describe, expect, test } from 'vitest';
import { decodeContext } from '../../src/history/audit-event.ts';
import { parseFeedJson, sameValue, stringifyFeedJson } from '../../src/history/feed-json.ts';
import { diffRows } from '../../src/history/row-diff.ts';
import { bindSql, sqlLiteral } from '../../src/history/sql-literal.ts';

describe('lossless JSON', () => {
  test('integers beyond 2^53 stay exact; small ones stay numbers; reals stay reals', () => {
    expect(parseFeedJson('{"a":9007199254740993,"b":-9223372036854775808,"c":42,"d":1.5,"e":1.0,"f":"9007199254740993"}')).toEqual({
      a: 9007199254740993n,
      b: -9223372036854775808n,
      c: 42,
      d: 1.5,
      e: 1,
      f: '9007199254740993',
    });
  });

  test("'bigint' mode makes every integer a bigint (so it binds as INTEGER), not reals", () => {
    expect(parseFeedJson('{"a":42,"b":1.0,"c":2e3}', { integers: 'bigint' })).toEqual({ a: 42n, b: 1, c: 2000 });
  });

  test('stringify writes bigints exactly', () => {
    expect(stringifyFeedJson({ a: 9007199254740993n, b: [1n] })).toBe('{"a":9007199254740993,"b":[1]}');
  });

  test('sameValue: numbers by value, kinds otherwise', () => {
    expect(sameValue(1, 1n)).toBe(true);
    expect(sameValue(9007199254740993n, 9007199254740992)).toBe(false);
    expect(sameValue(1, '1')).toBe(false);
    expect(sameValue(null, undefined)).toBe(true);
    expect(sameValue(null, 0)).toBe(false);
  });
});

describe('row diff', () => {
  test('only changed columns; a column only on one side counts as null there', () => {
    expect(diffRows({ a: 1, b: 'x', gone: 5 }, { a: 1, b: 'y', added: null })).toEqual([
      { field: 'b', old: 'x', new: 'y' },
      { field: 'gone', old: 5, new: null },
    ]);
  });
});

describe('context', () => {
  test('named keys, free-form extras, NULL and garbage', () => {
    expect(decodeContext('{"actor":"a","request_id":"r","restored_event_id":3,"impersonated_by":"i"}')).toEqual({
      actor: 'a',
      reason: null,
      impersonatedBy: 'i',
      requestId: 'r',
      extra: { restored_event_id: 3 },
    });
    expect(decodeContext(null).actor).toBeNull();
    expect(decodeContext('not json')).toMatchObject({ actor: null, extra: { raw: 'not json' } });
  });
});

describe('SQL literals for --dry-run', () => {
  test('each kind', () => {
    expect([null, 9007199254740993n, 1.5, 2, "it's", Buffer.from([0xca, 0xfe]), 'a\0b'].map((v) => sqlLiteral(v))).toEqual([
      'NULL',
      '9007199254740993',
      '1.5',
      '2.0',
      "'it''s'",
      "X'CAFE'",
      "CAST(X'610062' AS TEXT)",
    ]);
  });

  test('a ? in an identifier is not a placeholder', () => {
    expect(bindSql(['UPDATE "t?" SET "a?" = ', { value: 1n }])).toEqual({ sql: 'UPDATE "t?" SET "a?" = ?', params: [1n], literal: 'UPDATE "t?" SET "a?" = 1' });
  });
});
