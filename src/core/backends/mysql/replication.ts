/**
 * Where a MySQL/MariaDB server stands among others (dialect.ts Replication): a Galera
 * cluster node (wsrep status) or a replica of another server (SHOW REPLICA STATUS), read
 * from the control connection at each get_connection. A server that is neither and takes
 * writes is not described (null): the common case stays compact.
 */
import type { Replication, Row } from '../../dialect.js';

export type Query = (text: string) => Promise<Row[]>;

/** Variable_name/Value rows of SHOW … VARIABLES / STATUS as a map. */
const settings = (rows: Row[]): Map<string, string> => new Map(rows.map((r) => [String(r.Variable_name).toLowerCase(), String(r.Value)]));

export async function readReplication(query: Query, causalReads: boolean): Promise<Replication | null> {
  // WHERE on SHOW never fails for a name the server lacks (MySQL has no wsrep_*, MariaDB no super_read_only).
  const vars = settings(await query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('wsrep_on', 'read_only', 'super_read_only')"));
  const readOnly = vars.get('read_only') === 'ON' || vars.get('super_read_only') === 'ON';
  if (vars.get('wsrep_on') === 'ON') return galera(query, readOnly, causalReads);
  const replica = await replicaStatus(query);
  if (replica) return { kind: 'replica', writable: !readOnly, ...replica };
  return readOnly ? { kind: 'server', writable: false, state: 'read_only' } : null;
}

async function galera(query: Query, readOnly: boolean, causalReads: boolean): Promise<Replication> {
  const s = settings(await query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_size', 'wsrep_cluster_status')"));
  const ready = s.get('wsrep_ready') === 'ON';
  return {
    kind: 'galera',
    writable: ready && !readOnly,
    state: s.get('wsrep_local_state_comment') ?? 'unknown',
    ready,
    cluster_size: Number(s.get('wsrep_cluster_size') ?? 0),
    primary: s.get('wsrep_cluster_status') === 'Primary',
    causal_reads: causalReads,
  };
}

/**
 * The replica's threads and lag, or null when the server replicates from nobody. SHOW
 * REPLICA STATUS (MariaDB 10.5+, MySQL 8.0.22+), else SHOW SLAVE STATUS; either needs
 * REPLICATION CLIENT (MariaDB 10.5+: SLAVE MONITOR or REPLICA MONITOR), and without it
 * nothing can be told: null, as for a server that is no replica.
 */
async function replicaStatus(query: Query): Promise<Pick<Replication, 'state' | 'lag_seconds'> | null> {
  let rows: Row[];
  try {
    rows = await query('SHOW REPLICA STATUS');
  } catch {
    try {
      rows = await query('SHOW SLAVE STATUS');
    } catch {
      return null;
    }
  }
  const row = rows[0];
  if (!row) return null;
  const io = String(row.Replica_IO_Running ?? row.Slave_IO_Running ?? '');
  const sql = String(row.Replica_SQL_Running ?? row.Slave_SQL_Running ?? '');
  const lag = row.Seconds_Behind_Source ?? row.Seconds_Behind_Master;
  return {
    state: io === 'Yes' && sql === 'Yes' ? 'running' : `io ${io || 'unknown'}, sql ${sql || 'unknown'}`,
    lag_seconds: lag === null || lag === undefined || lag === '' ? null : Number(lag),
  };
}
