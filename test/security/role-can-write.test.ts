/**
 * A read-only connection whose account could write is flagged in get_connection
 * (role_can_write, warning) and logged once; a SELECT-only account is not
 * (README, "Least privilege").
 */
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, MYSQL_URL, PG_URL, freshDatabase, tempDir } from '../support/backends.js';
import { mustCall, startInProcess, startStdio } from '../support/mcp.js';

const has = (name: string): boolean => BACKENDS.some((b) => b.name === name);
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => { for (const c of cleanups.reverse()) await c().catch(() => undefined); });

async function describeAll(connections: Record<string, { url: string; read_only?: boolean }>): Promise<Record<string, Record<string, unknown>>> {
  const h = await startInProcess(connections);
  try {
    const out: Record<string, Record<string, unknown>> = {};
    for (const name of Object.keys(connections)) out[name] = await mustCall(h.client, 'get_connection', { connection: name });
    return out;
  } finally {
    await h.close();
  }
}

describe.skipIf(!has('postgres'))('role_can_write on PostgreSQL', () => {
  it('flags a superuser, not a SELECT-only role', async () => {
    const role = `cmx_rcw_${process.pid}`;
    // Cleanups run last-first: the role goes after its database (which holds its grants).
    cleanups.push(async () => { const r = postgres(PG_URL, { max: 1, onnotice: () => undefined }); await r.unsafe(`DROP ROLE IF EXISTS ${role}`); await r.end(); });
    const db = await freshDatabase(BACKENDS.find((b) => b.name === 'postgres')!, 'rcw');
    cleanups.push(db.drop);
    const name = db.url.replace(/^.*\//, '');
    const admin = postgres(db.url, { max: 1, onnotice: () => undefined });
    await admin.unsafe('CREATE TABLE t (a int)');
    await admin.unsafe(`CREATE ROLE ${role} LOGIN`);
    await admin.unsafe(`GRANT CONNECT ON DATABASE ${name} TO ${role}`);
    await admin.unsafe(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await admin.unsafe(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`);
    await admin.end();
    const readerUrl = db.url.replace('postgres://postgres@', `postgres://${role}@`);
    const d = await describeAll({ su: { url: db.url, read_only: true }, reader: { url: readerUrl, read_only: true }, rw: { url: db.url } });
    expect(d.su.role_can_write).toBe(true);
    expect(d.su.warning).toMatch(/account can write/);
    expect(d.reader.role_can_write).toBe(false);
    expect(d.reader.warning).toBeUndefined();
    expect(d.rw.role_can_write).toBeNull();
  });
});

describe.skipIf(!has('mysql'))('role_can_write on MariaDB', () => {
  it('flags an account with ALL, not one with SELECT only', async () => {
    const db = await freshDatabase(BACKENDS.find((b) => b.name === 'mysql')!, 'rcw');
    cleanups.push(db.drop);
    const name = db.url.replace(/^.*\//, '');
    const [reader, writer] = [`cmx_rcwr_${process.pid % 100000}`, `cmx_rcww_${process.pid % 100000}`];
    const root = await mysql.createConnection(MYSQL_URL);
    await root.query(`CREATE USER '${reader}'@'%' IDENTIFIED BY 'pw-r1'`);
    await root.query(`GRANT SELECT ON \`${name}\`.* TO '${reader}'@'%'`);
    await root.query(`CREATE USER '${writer}'@'%' IDENTIFIED BY 'pw-w1'`);
    await root.query(`GRANT ALL ON \`${name}\`.* TO '${writer}'@'%'`);
    await root.end();
    cleanups.push(async () => { const r = await mysql.createConnection(MYSQL_URL); await r.query(`DROP USER IF EXISTS '${reader}'@'%', '${writer}'@'%'`); await r.end(); });
    const d = await describeAll({
      reader: { url: `mysql://${reader}:pw-r1@127.0.0.1:3306/${name}`, read_only: true },
      writer: { url: `mysql://${writer}:pw-w1@127.0.0.1:3306/${name}`, read_only: true },
    });
    expect(d.reader.role_can_write).toBe(false);
    expect(d.writer.role_can_write).toBe(true);
    expect(d.writer.warning).toMatch(/account can write/);
  });
});

describe.skipIf(!has('sqlite'))('role_can_write on SQLite', () => {
  it('flags a writable file, logs the warning once, and not a read-only file', async () => {
    const dir = tempDir('cmx-rcw-');
    const [writable, locked] = [join(dir, 'w.db'), join(dir, 'r.db')];
    const Database = (await import('better-sqlite3')).default;
    new Database(writable).close();
    new Database(locked).close();
    chmodSync(locked, 0o444);
    const s = await startStdio(['--connection', `w=sqlite://${writable}`, '--connection', `r=sqlite://${locked}`, '--read-only']);
    let stderr = '';
    s.transport.stderr?.on('data', (b: Buffer) => { stderr += b.toString(); });
    try {
      await mustCall(s.client, 'get_connection', { connection: 'w' });
      const w = await mustCall(s.client, 'get_connection', { connection: 'w' });
      await mustCall(s.client, 'close_connection', { connection: 'w' });
      await mustCall(s.client, 'get_connection', { connection: 'w' });
      expect(w.role_can_write).toBe(true);
      expect(w.warning).toMatch(/file is writable/);
      const r = await mustCall(s.client, 'get_connection', { connection: 'r' });
      if (process.getuid?.() !== 0) expect(r.role_can_write).toBe(false);
    } finally {
      await s.close();
    }
    expect(stderr.split('\n').filter((l) => l.includes('database file is writable') && l.includes('"connection":"w"')).length).toBe(1);
  });
});
