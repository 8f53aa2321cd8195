import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { z } from 'zod';
import { AuditeError } from '../errors.ts';
import { configSchema, type Config } from './config-schema.ts';

type Layer = Record<string, unknown>;

// Loaded on first use: a relay configured by JSON, flags or the environment never pays for a YAML parser.
const require = createRequire(import.meta.url);
function parseYaml(text: string): unknown {
  return (require('yaml') as typeof Yaml).parse(text);
}

export interface ConfigSources {
  /** Path of a YAML or JSON file, if any. */
  file?: string | undefined;
  /** The process environment; only AUDITE_<TOP-LEVEL KEY>… variables are read. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Values from CLI flags, already shaped like the config (partial). */
  flags?: Layer;
}

const TOP_LEVEL_KEYS = new Set(Object.keys(configSchema.shape));
// Header names whose values are credentials: these must come from the environment.
const SECRET_HEADER = /authorization|cookie|token|secret|password|api[-_]?key/i;

/** Merges defaults < file < environment < flags, then validates once. */
export function loadConfig(sources: ConfigSources): Config {
  const fileLayer = sources.file === undefined ? {} : readConfigFile(sources.file);
  const envLayer = envToLayer(sources.env ?? {});
  let merged = mergeDeep(fileLayer, envLayer);
  // Sinks given on the command line replace the configured list rather than merging into it.
  merged = { ...mergeDeep(merged, { ...sources.flags, sinks: undefined }), ...(sources.flags?.sinks ? { sinks: sources.flags.sinks } : {}) };
  const result = configSchema.safeParse(merged);
  if (!result.success) throw new AuditeError('CONFIG_INVALID', `invalid configuration: ${formatIssues(result.error.issues)}`);
  return result.data;
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues.slice(0, 3).map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  if (issues.length > 3) shown.push(`and ${issues.length - 3} more`);
  return shown.join('; ');
}

function readConfigFile(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new AuditeError('CONFIG_INVALID', `cannot read config file ${path}; check the path`, { cause });
  }
  let parsed: unknown;
  try {
    parsed = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
    throw new AuditeError('CONFIG_INVALID', `config file ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${message}`, { cause });
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlainObject(parsed)) throw new AuditeError('CONFIG_INVALID', `config file ${path} must hold a mapping of settings at the top level`);
  rejectLiteralSecrets(parsed, path);
  return parsed;
}

function rejectLiteralSecrets(layer: Layer, path: string): void {
  const sinks = Array.isArray(layer.sinks) ? layer.sinks : [];
  sinks.forEach((sink: unknown, i) => {
    if (isPlainObject(sink) && typeof sink.url === 'string' && hasCredentials(sink.url)) {
      throw new AuditeError(
        'CONFIG_INVALID',
        `${path}: sinks.${i}.url holds credentials; put them in a header written as { env: VARIABLE_NAME } (e.g. Authorization) instead`,
      );
    }
    if (!isPlainObject(sink) || !isPlainObject(sink.headers)) return;
    for (const [name, value] of Object.entries(sink.headers)) {
      if (typeof value === 'string' && SECRET_HEADER.test(name)) {
        throw new AuditeError(
          'CONFIG_INVALID',
          `${path}: sinks.${i}.headers.${name} looks like a secret; write it as { env: VARIABLE_NAME } and set the variable instead`,
        );
      }
    }
  });
}

function hasCredentials(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.username !== '' || parsed.password !== '';
  } catch {
    return false; // not a URL: the schema reports it
  }
}

/** AUDITE_SOURCE__BATCH_SIZE=100 → { source: { batchSize: 100 } }; AUDITE_SINKS__0__URL → sinks[0].url. */
export function envToLayer(env: Readonly<Record<string, string | undefined>>): Layer {
  const layer: Layer = {};
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('AUDITE_')) continue;
    const path = name.slice('AUDITE_'.length).split('__').map(camel);
    if (!TOP_LEVEL_KEYS.has(path[0] ?? '')) continue;
    let node: Record<string, unknown> = layer;
    path.forEach((segment, i) => {
      if (i === path.length - 1) {
        node[segment] = envValue(raw);
        return;
      }
      const next = node[segment];
      node = (isPlainObject(next) ? next : (node[segment] = {})) as Record<string, unknown>;
    });
  }
  return arraysFromIndexedObjects(layer) as Layer;
}

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Numbers, booleans, null and JSON arrays/objects are parsed; anything else is a string. */
function envValue(raw: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(raw) || /^[[{]/.test(raw)) {
    try {
      return JSON.parse(raw);
    } catch {
      return raw;
    }
  }
  return raw;
}

function arraysFromIndexedObjects(value: unknown): unknown {
  if (!isPlainObject(value)) return value;
  const entries = Object.entries(value).map(([k, v]) => [k, arraysFromIndexedObjects(v)] as const);
  if (entries.length > 0 && entries.every(([k]) => /^\d+$/.test(k))) {
    const array: unknown[] = [];
    for (const [k, v] of entries) array[Number(k)] = v;
    return array;
  }
  return Object.fromEntries(entries);
}

/** Objects merge key by key, arrays element by element; `undefined` never overrides. */
export function mergeDeep(base: unknown, over: unknown): Layer {
  return mergeValue(base, over) as Layer;
}

function mergeValue(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (Array.isArray(base) && Array.isArray(over)) {
    return Array.from({ length: Math.max(base.length, over.length) }, (_, i) => mergeValue(base[i], over[i]));
  }
  if (isPlainObject(base) && isPlainObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = mergeValue(base[k], v);
    return out;
  }
  return over;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves `{ env: NAME }` at start-up; a missing variable is a config error, and the value is never logged. */
export function resolveSecret(value: string | { env: string }, where: string, env: Readonly<Record<string, string | undefined>>): string {
  if (typeof value === 'string') return value;
  const resolved = env[value.env];
  if (resolved === undefined || resolved === '') {
    throw new AuditeError('CONFIG_INVALID', `${where}: environment variable ${value.env} is not set`);
  }
  return resolved;
}
