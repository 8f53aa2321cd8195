import { z } from 'zod';
import { configSchema } from './config-schema.ts';

/** JSON Schema of the config file, for editors and CI (`npm run schema` writes config/audite.schema.json). */
export function configJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', target: 'draft-2020-12' }),
    title: 'audite relay configuration',
  };
}
