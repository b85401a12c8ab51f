// get_schema on a 500-table database per backend (every table with 7 columns, a
// primary key, a default, an index and a foreign key to the table before it):
// all tables through the MCP tool, beside the bare driver running one plain
// information_schema / pragma query for the same columns, in the same run.
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import postgres from 'postgres';
import { freshDb, fmt, median, startInProcess, timeEach } from './lib.mjs';

const N = 500;
const RUNS = 7;

function ddl(i, backend) {
  const ts = backend === 'mysql' ? 'DATETIME(6)' : 'timestamp';
  const fk = i > 1 ? `, parent_id bigint REFERENCES s_${i - 1} (id)` : ', parent_id bigint';
  return [
    `CREATE TABLE s_${i} (id bigint PRIMARY KEY, a varchar(50) NOT NULL DEFAULT 'x', b integer, c ${ts}, d text, e decimal(12,2)${fk})`,
    `CREATE INDEX s_${i}_b_idx ON s_${i} (b)`,
  ];
}

async function populate(backend, url) {
  const all = Array.from({ length: N }, (_, i) => ddl(i + 1, backend)).flat();
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.begin(async (tx) => { for (const s of all) await tx.unsafe(s); });
    await sql.end();
  } else if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    for (const s of all) await c.query(s);
    await c.end();
  } else {
    const db = new Database(url.replace('sqlite://', ''));
    db.exec(`BEGIN; ${all.join(';\n')}; COMMIT;`);
    db.close();
  }
}

/** One plain catalog query for every column of every table: the least a client could do. */
async function bare(backend, url) {
  if (backend === 'postgres') {
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    const ms = await timeEach(RUNS, () => sql.unsafe("SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public'"));
    await sql.end();
    return ms;
  }
  if (backend === 'mysql') {
    const c = await mysql.createConnection(url);
    const ms = await timeEach(RUNS, () => c.query('SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE()'));
    await c.end();
    return ms;
  }
  const db = new Database(url.replace('sqlite://', ''), { readonly: true });
  const stmt = db.prepare("SELECT m.name, p.* FROM sqlite_schema m JOIN pragma_table_info(m.name) p WHERE m.type = 'table'");
  const ms = await timeEach(RUNS, () => stmt.all());
  db.close();
  return ms;
}

async function ours(url) {
  const s = await startInProcess({ b: url });
  const call = async () => {
    const r = await s.client.callTool({ name: 'get_schema', arguments: { connection: 'b', limit: 1000 } }, undefined, { timeout: 60_000 });
    if (r.isError || r.structuredContent.tables.length !== N) throw new Error(`get_schema failed: ${r.content[0].text.slice(0, 300)}`);
  };
  await call(); // opens the connection
  const ms = await timeEach(RUNS, call);
  await s.close();
  return ms;
}

export async function benchSchema() {
  const rows = [];
  for (const backend of ['postgres', 'mysql', 'sqlite']) {
    const db = await freshDb(backend);
    try {
      await populate(backend, db.url);
      const b = median(await bare(backend, db.url));
      const o = median(await ours(db.url));
      rows.push({ metric: `${backend}: get_schema, ${N} tables, median of ${RUNS} (ms)`, ours: fmt(o, 0), baseline: `${fmt(b, 0)} (one bare columns query)`, ratio: fmt(o / b, 2), target: '< 1000 ms', ok: o < 1000 ? 'yes' : 'NO' });
    } finally {
      await db.drop();
    }
  }
  return rows;
}
