// Writes config/audite.schema.json from the zod schema, so the file can never drift from the code.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema } from '../src/config/config-json-schema.ts';

const target = join(import.meta.dirname, '..', 'config', 'audite.schema.json');
writeFileSync(target, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${target}`);
