/**
 * Issue 14's MySQL/MariaDB attack families (executable comments, escapes missing from
 * the every-connection list, pinned session settings, dynamic SQL), each in several
 * notations. Every input here must be refused on every connection or fail at the
 * server: none is harmless, so mysql-attacks.test.ts counts any success.
 */

export interface AttackTargets {
  /** A server file holding a sentinel that must never come back in a result. */
  secret: string;
  /** World-writable directory: nothing may appear in it. */
  outDir: string;
  /** Account whose password, privileges and existence must not change. */
  victim: string;
  /** Thread id of a peer session that must stay alive. */
  peer: number;
}

/** Base attacks, one per family member; `{…}` are filled from AttackTargets. */
function bases(t: AttackTargets): string[] {
  const v = `'${t.victim}'@'%'`;
  return [
    // Files.
    `SELECT LOAD_FILE('${t.secret}')`,
    `SELECT CONCAT('x', load_file('${t.secret}')) AS c`,
    `SELECT 'x' INTO OUTFILE '${t.outDir}/o1'`,
    `SELECT 'x' INTO DUMPFILE '${t.outDir}/o2'`,
    `LOAD DATA INFILE '${t.secret}' INTO TABLE loot`,
    `LOAD XML INFILE '${t.secret}' INTO TABLE loot`,
    `INSERT INTO loot VALUES (LOAD_FILE('${t.secret}'))`,
    `CREATE TABLE loot2 (v text DEFAULT (LOAD_FILE('${t.secret}')))`,
    `CREATE TABLE dd1 (a int) DATA DIRECTORY = '${t.outDir}'`,
    `CREATE TABLE dd2 (a int) ENGINE=MyISAM INDEX DIRECTORY = '${t.outDir}' DATA DIRECTORY = '${t.outDir}'`,
    `ALTER TABLE victim DATA DIRECTORY = '${t.outDir}'`,
    // Accounts and privileges.
    `SET PASSWORD FOR ${v} = PASSWORD('pwned')`,
    `SET PASSWORD FOR ${v} = 'pwned'`,
    `ALTER USER ${v} IDENTIFIED BY 'pwned'`,
    `GRANT ALL ON *.* TO ${v} IDENTIFIED BY 'pwned'`,
    `GRANT SELECT ON victim TO ${v} IDENTIFIED BY 'pwned' WITH GRANT OPTION`,
    `GRANT FILE, SUPER, PROCESS, SHUTDOWN ON *.* TO ${v}`,
    `REVOKE ALL PRIVILEGES, GRANT OPTION FROM ${v}`,
    `CREATE OR REPLACE USER ${v} IDENTIFIED BY 'pwned'`,
    `CREATE USER cmx_evil IDENTIFIED BY 'x'`,
    `DROP USER ${v}`,
    `RENAME USER ${v} TO cmx_evil`,
    `CREATE ROLE cmx_evil_role WITH ADMIN ${v}`,
    `SET DEFAULT ROLE NONE FOR ${v}`,
    // The mysql schema (then FLUSH PRIVILEGES makes it take effect).
    `UPDATE mysql.global_priv SET Priv = '{"access":0}' WHERE User = '${t.victim}'`,
    `DELETE FROM \`mysql\`.\`global_priv\` WHERE User = '${t.victim}'`,
    `INSERT INTO mysql.servers (Server_name, Host) VALUES ('cmx_evil', '127.0.0.1')`,
    `REPLACE INTO mysql.roles_mapping (Host, User, Role) VALUES ('%', '${t.victim}', 'x')`,
    'CREATE TABLE mysql.cmx_evil (a int)',
    'TRUNCATE TABLE mysql.proxies_priv',
    'FLUSH PRIVILEGES',
    'FLUSH TABLES WITH READ LOCK',
    // Server, sessions, replication, outbound connections, code that runs later.
    `KILL ${t.peer}`,
    `KILL CONNECTION ${t.peer}`,
    `KILL QUERY ${t.peer}`,
    'SET GLOBAL div_precision_increment = 9',
    'SET @@global.max_connections = 77',
    "CREATE SERVER cmx_srv FOREIGN DATA WRAPPER mysql OPTIONS (HOST '127.0.0.1', USER 'root')",
    "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 9",
    'START SLAVE',
    'RESET MASTER',
    "INSTALL SONAME 'ha_connect'",
    'CREATE EVENT cmx_ev ON SCHEDULE AT CURRENT_TIMESTAMP + INTERVAL 1 HOUR DO DELETE FROM victim',
    `EXECUTE IMMEDIATE CONCAT('SELECT LOAD', '_FILE(''${t.secret}'')')`,
    `PREPARE cmx_p FROM 'SELECT LOAD_FILE(''${t.secret}'')'`,
    // Settings the classifier reads quotes with.
    "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "SET SESSION sql_mode = 'ANSI_QUOTES'",
    'SET NAMES gbk',
    'SET character_set_client = sjis',
  ];
}

/** Attacks written around the lexer: a quote or comment that hides the end of an executable comment. */
function lexerAttacks(t: AttackTargets): string[] {
  const v = `'${t.victim}'@'%'`;
  return [
    `SELECT /*!50000 '*/', LOAD_FILE('${t.secret}') */`,
    `SELECT /*! '*/', LOAD_FILE('${t.secret}') */`,
    `SELECT /*M! "*/", LOAD_FILE('${t.secret}') */`,
    `SELECT /*M!100000 \`*/\`, LOAD_FILE('${t.secret}') */`,
    `SELECT /*!50000 '*/' INTO OUTFILE '${t.outDir}/l1' */`,
    `SELECT /*! '*/' INTO DUMPFILE '${t.outDir}/l2' */`,
    `SELECT 1 /*! , 2 -- */\n , LOAD_FILE('${t.secret}') */`,
    `SELECT 1 /*! # */\n , LOAD_FILE('${t.secret}') */`,
    `SELECT 1 /*! -- '\n , LOAD_FILE('${t.secret}') -- ' */`,
    `SELECT /*!'\\'*/', LOAD_FILE('${t.secret}') -- '*/`,
    `/*!SET '*/' PASSWORD FOR ${v} = PASSWORD('pwned') */`,
    `SET /*!50000 PASSWORD FOR ${v} */ = PASSWORD('pwned')`,
    `/*!50000 SET PASSWORD FOR ${v} = PASSWORD('pwned') */`,
    `/*M!GRANT*/ ALL ON *.* TO ${v} IDENTIFIED BY 'pwned'`,
    `SELECT 1 /*!99999 '*/ , LOAD_FILE('${t.secret}') -- ' */`,
    `SELECT 1 /*!50700 '*/ , LOAD_FILE('${t.secret}') -- ' */`,
    `SELECT 1 /*!50000 /* '*/ , LOAD_FILE('${t.secret}') -- ' */`,
    `SELECT '\\'' /*! , LOAD_FILE('${t.secret}') */`,
    `SELECT "*/" /*!, LOAD_FILE('${t.secret}')*/`,
    `SELECT 1--1 /*! , LOAD_FILE('${t.secret}') */`,
    `SELECT N'*/' /*!, LOAD_FILE('${t.secret}')*/, _utf8mb4'*/', X'2A2F'`,
    `UPDATE "mysql".global_priv SET Priv = '{}' WHERE User = '${t.victim}'`,
    `UPDATE mysql/**/./**/global_priv SET Priv = '{}' WHERE User = '${t.victim}'`,
    `SELECT\u00a0LOAD_FILE('${t.secret}')`,
    `SELECT LOAD_FILE\u00a0('${t.secret}')`,
    `SELECT\u000bLOAD_FILE('${t.secret}')`,
  ];
}

/** Rewrites outside quotes only, so paths and passwords stay as they are. */
function outsideQuotes(sql: string, fn: (code: string) => string): string {
  return sql.split(/('(?:[^'\\]|\\.|'')*'|`[^`]*`)/).map((part, i) => (i % 2 ? part : fn(part))).join('');
}

const NOTATIONS: Array<[string, (sql: string) => string]> = [
  ['plain', (s) => s],
  ['lower', (s) => outsideQuotes(s, (c) => c.toLowerCase())],
  ['mixed', (s) => outsideQuotes(s, (c) => c.replace(/[a-z]/gi, (ch, i: number) => (i % 2 ? ch.toUpperCase() : ch.toLowerCase())))],
  ['comments', (s) => outsideQuotes(s, (c) => c.replaceAll(' ', '/**/'))],
  ['whitespace', (s) => outsideQuotes(s, (c) => c.replaceAll(' ', '\t\n\r\f'))],
  ['exec', (s) => `/*!${s}*/`],
  ['exec-version', (s) => `/*!50000 ${s} */`],
  ['exec-maria', (s) => `/*M!100000 ${s} */`],
  ['exec-inner', (s) => s.replace(' ', ' /*!*/ ')],
];

export function mysqlAttacks(t: AttackTargets): Array<{ id: string; sql: string }> {
  const out: Array<{ id: string; sql: string }> = [];
  bases(t).forEach((b, i) => {
    for (const [name, fn] of NOTATIONS) out.push({ id: `b${i}.${name}`, sql: fn(b) });
  });
  lexerAttacks(t).forEach((sql, i) => out.push({ id: `lex${i}`, sql }));
  return out;
}
