import { describe, expect, test } from 'vitest';
import { isAuditeError } from '../../src/errors.ts';
import { parseAsOf, parseEventId } from '../../src/history/get-event.ts';
import { formatTime, parseTimeInput } from '../../src/history/time-input.ts';

const may1 = Date.UTC(2024, 4, 1) / 1000;

describe('parseTimeInput', () => {
  test.each([
    ['2024-05-01', may1],
    ['2024-05-01T10:00', may1 + 36_000],
    ['2024-05-01 10:00:30', may1 + 36_030],
    ['2024-05-01T10:00:30.999', may1 + 36_030],
    ['2024-05-01T10:00:00Z', may1 + 36_000],
    ['2024-05-01t10:00:00z', may1 + 36_000],
    ['2024-05-01T12:00:00+02:00', may1 + 36_000],
    ['2024-05-01T04:30:00-0530', may1 + 36_000],
    ['2024-05-01T12:00+02', may1 + 36_000],
    ['1714557600', 1_714_557_600],
    ['@1714557600', 1_714_557_600],
    ['0', 0],
    ['2024-02-29', Date.UTC(2024, 1, 29) / 1000],
  ])('%s', (text, expected) => {
    expect(parseTimeInput(text)).toBe(expected);
  });

  test('years below 100 are those years, not 19xx', () => {
    expect(new Date(parseTimeInput('0099-01-01') * 1000).getUTCFullYear()).toBe(99);
  });

  test.each([
    'yesterday',
    '',
    '2024-13-01',
    '2024-02-30',
    '2023-02-29',
    '2024-05-01T24:00',
    '2024-05-01T10:60',
    '2024-05-01T10:00+25:00',
    '2024/05/01',
    '1e9',
    '-5',
    '12.5',
    '2024-05-01T10',
  ])('rejects %j with one line', (text) => {
    let error: unknown;
    try {
      parseTimeInput(text, '--since');
    } catch (e) {
      error = e;
    }
    expect(isAuditeError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toContain('--since');
  });

  test('formatTime is UTC ISO without milliseconds', () => {
    expect(formatTime(may1 + 36_000)).toBe('2024-05-01T10:00:00Z');
  });
});

describe('event ids and --to targets', () => {
  test('a bare number is an event id; @seconds and ISO are times', () => {
    expect(parseAsOf('42')).toEqual({ eventId: 42 });
    expect(parseAsOf('@1714557600')).toEqual({ time: 1_714_557_600 });
    expect(parseAsOf('2024-05-01')).toEqual({ time: may1 });
  });

  test.each(['0', '-1', 'abc', '1.5'])('rejects event id %j', (text) => {
    expect(() => parseEventId(text)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  test('rejects a --to that is neither', () => {
    expect(() => parseAsOf('last tuesday')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
