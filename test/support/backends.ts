/**
 * The one list of backends every integration test loops over, filtered by
 * BACKENDS=postgres,mysql,sqlite. Adding a backend here reruns everything.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../../src/core/backends/lookup.js';

export interface TestBackend {
  name: Backend;
  /** A fresh URL for this test file (SQLite: a new temp file each call). */
  url(): string;
  /** SQL that sleeps for s seconds, or runs away until stopped. */
  sleep(seconds: number): string;
}

export const PG_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

export function tempDir(prefix = 'cmx-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const ALL: TestBackend[] = [
  { name: 'postgres', url: () => PG_URL, sleep: (s) => `SELECT pg_sleep(${s})` },
  { name: 'mysql', url: () => MYSQL_URL, sleep: (s) => `SELECT SLEEP(${s})` },
  {
    name: 'sqlite',
    url: () => `sqlite://${join(tempDir(), 'test.db')}`,
    sleep: () => 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c',
  },
];

const wanted = process.env.BACKENDS?.split(',').map((s) => s.trim()).filter(Boolean);
export const BACKENDS: TestBackend[] = wanted ? ALL.filter((b) => wanted.includes(b.name)) : ALL;

/** A table name unique to one test file and run, so files can run in parallel. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * A fresh, empty database of this backend for one test file (migration history is
 * per database), and a function that drops it. SQLite: a new temp file.
 */
export async function freshDatabase(backend: TestBackend, tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `cmx_${tag}_${process.pid}_${Math.random().toString(36).slice(2, 6)}`;
  if (backend.name === 'sqlite') return { url: backend.url(), drop: async () => undefined };
  if (backend.name === 'postgres') {
    const { default: postgres } = await import('postgres');
    const admin = postgres(PG_URL, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    await admin.end();
    return {
      url: PG_URL.replace(/\/[^/]*$/, `/${name}`),
      drop: async () => {
        const a = postgres(PG_URL, { max: 1, onnotice: () => undefined });
        await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await a.end();
      },
    };
  }
  const { default: mysql } = await import('mysql2/promise');
  const admin = await mysql.createConnection(MYSQL_URL);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  return {
    url: MYSQL_URL.replace(/\/[^/]*$/, `/${name}`),
    drop: async () => {
      const a = await mysql.createConnection(MYSQL_URL);
      await a.query(`DROP DATABASE IF EXISTS ${name}`);
      await a.end();
    },
  };
}
