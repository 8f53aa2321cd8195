import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configJsonSchema } from '../../src/config/config-json-schema.ts';
import { configSchema } from '../../src/config/config-schema.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { consumerNames } from '../../src/relay/relay.ts';
import { isAuditeError } from '../../src/errors.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { tempDir } from '../support/temp.ts';

function writeConfig(text: string, name = 'audite.yaml'): string {
  const file = join(tempDir(), name);
  writeFileSync(file, text);
  return file;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (isAuditeError(error, 'CONFIG_INVALID')) return error.message;
    throw error;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('config', () => {
  test('defaults: stdout sink, and the database from flags', () => {
    const config = loadConfig({ flags: { database: 'app.db' } });
    expect(config.sinks).toEqual([{ type: 'stdout', onPermanentFailure: 'halt' }]);
    expect(config.source.batchSize).toBe(500);
  });

  test('precedence: flag, then environment, then file, then default', () => {
    const file = writeConfig('database: from-file.db\nsource:\n  batchSize: 10\n  pollIntervalMs: 7\nlog:\n  level: warn\n');
    const env = { AUDITE_SOURCE__BATCH_SIZE: '20', AUDITE_LOG__LEVEL: 'error', AUDITE_KAFKA_PORT: '1', AUDITE_DEBUG: '1' };
    const config = loadConfig({ file, env, flags: { source: { batchSize: 30 } } });
    expect(config.source.batchSize).toBe(30);
    expect(config.log.level).toBe('error');
    expect(config.source.pollIntervalMs).toBe(7);
    expect(config.database).toBe('from-file.db');
    expect(config.source.busyTimeoutMs).toBe(5000);
  });

  test('environment reaches into sink lists by index', () => {
    const file = writeConfig('database: a.db\nsinks:\n  - type: http\n    url: http://127.0.0.1:1/x\n');
    const config = loadConfig({ file, env: { AUDITE_SINKS__0__URL: 'http://127.0.0.1:2/y', AUDITE_SINKS__0__MODE: 'batch' } });
    expect(config.sinks[0]).toMatchObject({ type: 'http', url: 'http://127.0.0.1:2/y', mode: 'batch' });
  });

  test('errors name the path and what was expected', () => {
    const file = writeConfig('database: a.db\nsource:\n  batchSize: -1\nsinks:\n  - type: http\n    url: ftp://nope\n');
    const message = configError(() => loadConfig({ file }));
    expect(message).toContain('source.batchSize');
    expect(message).toContain('sinks.0.url');
    expect(message.split('\n')).toHaveLength(1);
    expect(configError(() => loadConfig({ file: writeConfig('database: a.db\nsinks:\n  - type: carrier-pigeon\n') }))).toContain('sinks.0.type');
    expect(configError(() => loadConfig({ file: writeConfig('database: [unclosed\n') }))).toContain('not valid YAML');
    expect(configError(() => loadConfig({ file: '/nonexistent/audite.yaml' }))).toContain('cannot read config file');
    expect(configError(() => loadConfig({ flags: { database: 'a.db', colour: 'blue' } }))).toContain('colour');
  });

  test('credentials in a sink URL are refused in the file, without echoing them', () => {
    const file = writeConfig('database: a.db\nsinks:\n  - type: http\n    url: https://user:hunter2@example.com/hook\n');
    const message = configError(() => loadConfig({ file }));
    expect(message).toContain('sinks.0.url holds credentials');
    expect(message).not.toContain('hunter2');
  });

  test('secret headers must come from the environment', () => {
    const file = writeConfig('database: a.db\nsinks:\n  - type: http\n    url: http://127.0.0.1:1/\n    headers:\n      Authorization: Bearer hunter2\n');
    const message = configError(() => loadConfig({ file }));
    expect(message).toContain('Authorization');
    expect(message).not.toContain('hunter2');
  });

  test('the commented example is valid, and the JSON Schema file is generated from the same schema', () => {
    const example = parseYaml(readFileSync(join(REPO_ROOT, 'config', 'audite.example.yaml'), 'utf8')) as unknown;
    expect(configSchema.safeParse(example).success).toBe(true);
    const onDisk = JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'audite.schema.json'), 'utf8')) as unknown;
    expect(onDisk, 'run `npm run schema` after changing the config schema').toEqual(configJsonSchema());
  });
});

describe('consumer names', () => {
  test('several sinks of one type must be named: a name that moved with the list would hand one sink another cursor', () => {
    const config = loadConfig({ flags: { database: 'a.db', sinks: [{ type: 'stdout' }, { type: 'stdout', name: 'second' }] } });
    expect(configError(() => consumerNames(config))).toContain('sinks.0.name is required');
    expect(consumerNames(loadConfig({ flags: { database: 'a.db', sinks: [{ type: 'stdout' }, { type: 'file', path: '/tmp/x' }] } }))).toEqual([
      'stdout',
      'file',
    ]);
  });
});
