import { expect, test } from 'vitest';
test('node is new enough', () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(22);
});
