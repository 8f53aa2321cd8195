// Helpers shared by the capture tests: real database files, real other-client writers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { enable, type EnableOptions, type EnableResult } from '../../src/capture/enable.ts';
import { openDatabase } from '../../src/sqlite/open-database.ts';
import { tempDbPath } from '../support/temp.ts';

export type Db = Database.Database;

export interface FeedRow {
  id: number;
  source: string;
  subject: string;
  type: string;
  time: number;
  specversion: string;
  data: string;
  context: string | null;
}

/** A fresh database file with `ddl` applied (rollback journal, as an app would start). */
export function createDb(ddl: string, name = 'app.db'): string {
  const file = tempDbPath(name);
  const db = new Database(file);
  db.exec(ddl);
  db.close();
  return file;
}

export function openDb(file: string): Db {
  const db = new Database(file, { fileMustExist: true, timeout: 5000 });
  // better-sqlite3 turns foreign keys on; SQLite's default (and the shell's, and Python's) is off.
  db.pragma('foreign_keys = OFF');
  return db;
}

/** The library path of `audite enable`: open, enable, close. */
export function enableFile(file: string, options: EnableOptions = {}): EnableResult {
  const db = openDatabase(file);
  try {
    return enable(db, options);
  } finally {
    db.close();
  }
}

export function withDb<T>(file: string, fn: (db: Db) => T): T {
  const db = openDb(file);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export function feed(file: string): FeedRow[] {
  return withDb(file, (db) => db.prepare('SELECT * FROM audite_changefeed ORDER BY id').all() as FeedRow[]);
}

/** Events as compact tuples, for exact assertions. */
export function events(file: string): { type: string; subject: string; data: unknown }[] {
  return feed(file).map((r) => ({ type: r.type, subject: r.subject, data: JSON.parse(r.data) as unknown }));
}

export function types(file: string): string[] {
  return feed(file).map((r) => `${r.type} ${r.subject}`);
}

/** Debian's sqlite3 shell (SQLite 3.40): another process, another SQLite version. Fails on the first error. */
export function sqliteShell(file: string, sql: string): string {
  return execFileSync('sqlite3', ['-bail', '-batch', file], { input: sql, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Python 3.11's sqlite3 module (SQLite 3.40, 127 function arguments at most). argv[1] is the db. */
export function python(file: string, code: string, ...args: string[]): string {
  return execFileSync('python3', ['-c', code, file, ...args], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export function spawnPython(file: string, code: string, ...args: string[]): ChildProcess {
  return spawn('python3', ['-u', '-c', code, file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
}

export function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export function schemaSnapshot(file: string): string {
  return withDb(file, (db) => JSON.stringify(db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name').all()));
}

/** Resolves with the first line a child prints that satisfies `match`. */
export function waitForLine(child: ChildProcess, match: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for child output; stderr: ${stderr}`)), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      for (const line of buffer.split('\n')) {
        if (match(line)) {
          clearTimeout(timer);
          resolve(line);
          return;
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before the expected line; stderr: ${stderr}`));
    });
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.on('exit', (code) => resolve(code));
  });
}
