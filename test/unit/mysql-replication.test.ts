/**
 * MySQL/MariaDB: Galera's errors mapped to codes that say why, and the replication state
 * read from status rows (replication.ts), with the server's answers given as rows.
 * test/topology/galera.test.ts checks both against a real cluster.
 */
import { describe, expect, it } from 'vitest';
import { fromMysqlError } from '../../src/core/backends/mysql/errors.js';
import { readReplication } from '../../src/core/backends/mysql/replication.js';
import type { Row } from '../../src/core/dialect.js';

const err = (errno: number, sqlMessage: string, sqlState = 'HY000') => Object.assign(new Error(sqlMessage), { errno, sqlMessage, sqlState });

describe('Galera errors', () => {
  it('a node that is not ready is CONNECTION_FAILED with cause node_not_ready; another 1047 is not', () => {
    const e = fromMysqlError(err(1047, 'WSREP has not yet prepared node for application use', '08S01'));
    expect([e.code, e.details.cause, e.details.errno]).toEqual(['CONNECTION_FAILED', 'node_not_ready', 1047]);
    expect(e.message).toMatch(/primary component.*Synced/);
    expect(fromMysqlError(err(1047, 'Unknown command', '08S01')).code).not.toBe('CONNECTION_FAILED');
  });

  it('4165 is UNSUPPORTED naming wsrep_mode; 1213 mentions certification; 1180 is TRANSACTION_FAILED', () => {
    const pk = fromMysqlError(err(4165, 'Galera replication not supported'));
    expect([pk.code, pk.message]).toEqual(['UNSUPPORTED', expect.stringMatching(/^Galera replication not supported: .*REQUIRED_PRIMARY_KEY.*primary key/)]);
    const dl = fromMysqlError(err(1213, 'Deadlock found when trying to get lock; try restarting transaction', '40001'));
    expect([dl.code, dl.message]).toEqual(['DEADLOCK', expect.stringMatching(/another node: run the transaction again/)]);
    expect(fromMysqlError(err(1180, 'Got error 6 "No such device or address" during COMMIT')).code).toBe('TRANSACTION_FAILED');
  });
});

/** A server answering each statement by its first words. */
const server = (answers: Record<string, Row[] | Error>) => async (text: string): Promise<Row[]> => {
  const key = Object.keys(answers).find((k) => text.startsWith(k));
  const a = key === undefined ? [] : answers[key]!;
  if (a instanceof Error) throw a;
  return a;
};
const vars = (o: Record<string, string>): Row[] => Object.entries(o).map(([Variable_name, Value]) => ({ Variable_name, Value }));

describe('replication state', () => {
  it('a Galera node: state, ready, size, primary view, causal reads', async () => {
    const q = server({
      'SHOW GLOBAL VARIABLES': vars({ wsrep_on: 'ON', read_only: 'OFF' }),
      'SHOW GLOBAL STATUS': vars({ wsrep_ready: 'ON', wsrep_local_state_comment: 'Donor/Desynced', wsrep_cluster_size: '3', wsrep_cluster_status: 'Primary' }),
    });
    expect(await readReplication(q, true)).toEqual({ kind: 'galera', writable: true, state: 'Donor/Desynced', ready: true, cluster_size: 3, primary: true, causal_reads: true });
  });

  it('a node out of quorum is neither ready nor writable', async () => {
    const q = server({
      'SHOW GLOBAL VARIABLES': vars({ wsrep_on: 'ON', read_only: 'OFF' }),
      'SHOW GLOBAL STATUS': vars({ wsrep_ready: 'OFF', wsrep_local_state_comment: 'Initialized', wsrep_cluster_size: '1', wsrep_cluster_status: 'non-Primary' }),
    });
    expect(await readReplication(q, false)).toMatchObject({ writable: false, ready: false, primary: false, cluster_size: 1 });
  });

  it('a replica: threads and lag (MySQL 8 names or MariaDB\'s), SHOW SLAVE STATUS where REPLICA is unknown', async () => {
    const replica = server({
      'SHOW GLOBAL VARIABLES': vars({ read_only: 'ON', super_read_only: 'OFF' }),
      'SHOW REPLICA STATUS': [{ Replica_IO_Running: 'Yes', Replica_SQL_Running: 'Yes', Seconds_Behind_Source: 4 }],
    });
    expect(await readReplication(replica, false)).toEqual({ kind: 'replica', writable: false, state: 'running', lag_seconds: 4 });
    const old = server({
      'SHOW GLOBAL VARIABLES': vars({ read_only: 'OFF' }),
      'SHOW REPLICA STATUS': new Error('syntax'),
      'SHOW SLAVE STATUS': [{ Slave_IO_Running: 'Connecting', Slave_SQL_Running: 'Yes', Seconds_Behind_Master: null }],
    });
    expect(await readReplication(old, false)).toEqual({ kind: 'replica', writable: true, state: 'io Connecting, sql Yes', lag_seconds: null });
  });

  it('a server alone: nothing when it takes writes, kind server when read_only; no privilege for replica status reads as alone', async () => {
    const denied = new Error('Access denied; you need (at least one of) the REPLICA MONITOR privilege(s)');
    expect(await readReplication(server({ 'SHOW GLOBAL VARIABLES': vars({ read_only: 'OFF' }), 'SHOW REPLICA STATUS': denied, 'SHOW SLAVE STATUS': denied }), false)).toBeNull();
    expect(await readReplication(server({ 'SHOW GLOBAL VARIABLES': vars({ read_only: 'ON' }) }), false)).toEqual({ kind: 'server', writable: false, state: 'read_only' });
  });
});
