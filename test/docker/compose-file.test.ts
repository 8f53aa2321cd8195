// There is no Docker engine on these machines, so `docker compose config` cannot run here.
// This checks what it would: docker-compose.yml against the Compose Specification's own
// JSON schema (test/docker/fixtures/compose-spec.json, from github.com/compose-spec/compose-spec
// at 170098ba, Apache-2.0), plus the references the schema cannot see.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const REPO = join(import.meta.dirname, '..', '..');
const compose = parse(readFileSync(join(REPO, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, { build?: { target?: string }; volumes?: string[]; depends_on?: Record<string, unknown>; entrypoint?: string[] }>;
};

describe('docker-compose.yml', () => {
  it('is valid against the Compose Specification schema', () => {
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'compose-spec.json'), 'utf8')) as object;
    // The schema names draft-07 by an https URL Ajv does not register; its keywords are draft-07's.
    const validate = new Ajv({ strict: false, allErrors: true, validateSchema: false }).compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    // And the check bites: a misspelt key or a wrong type is refused.
    expect(validate({ services: { relay: { image: 'audite', restrat: 'always' } } })).toBe(false);
    expect(validate({ services: { relay: { image: 'audite', profiles: 'postgres' } } })).toBe(false);
  });

  it('builds only Dockerfile targets that exist, mounts files that exist, and depends on services it defines', () => {
    const dockerfile = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
    const targets = new Set([...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]));
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build?.target !== undefined) expect(targets, `${name}'s build target`).toContain(service.build.target);
      for (const volume of service.volumes ?? []) {
        const [source] = volume.split(':');
        if (source?.startsWith('./')) expect(existsSync(join(REPO, source)), `${name} mounts ${source}`).toBe(true);
      }
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(Object.keys(compose.services)).toContain(dependency);
      const script = service.entrypoint?.find((part) => part.startsWith('docker/'));
      if (script !== undefined) expect(existsSync(join(REPO, script)), `${name} runs ${script}`).toBe(true);
    }
  });
});
