/**
 * Configuration: CLI flags over environment over a JSON config file, validated
 * with zod. The one place where defaults live.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { refuseDuplicateFlags, refuseDuplicateKeys } from './config-checks.js';
import { DbError } from './errors.js';
import { BACKEND_NAMES, backendModule, type Backend } from './core/backends/lookup.js';

export const DEFAULTS = {
  max_rows: 1000,
  max_bytes: 262_144,
  statement_timeout_ms: 30_000,
  pool_size: 5,
  acquire_timeout_ms: 10_000,
} as const;

/** The query log (src/core/query-log/): in memory always, persisted only when a path is set. */
export const QUERY_LOG_DEFAULTS = { memory_entries: 10_000, max_entries: 100_000 } as const;

/** Hard ceilings: a result line over 10 MiB closes the SDK's stdio transport (a result carries its rows twice). */
export const LIMITS = { max_rows: 1_000_000, max_bytes: 2 * 1024 * 1024, statement_timeout_ms: 24 * 3600_000 } as const;

/** A connection's name, in the config file, --connection and get_connection alike. */
export const CONNECTION_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
export const CONNECTION_NAME_RULE = 'connection names are letters, digits, _ and -, starting with a letter';
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const TRANSPORTS = ['stdio', 'http'] as const;

export const HTTP_DEFAULTS = { host: '127.0.0.1', port: 3000, session_idle_ms: 30 * 60_000 } as const;
/** A bearer token shorter than this is refused: it would be guessable. */
export const MIN_TOKEN_LENGTH = 16;

const HttpFileSchema = z.object({
  host: z.string().min(1).max(255).optional(),
  port: z.number().int().min(0).max(65_535).optional(),
  token: z.string().min(MIN_TOKEN_LENGTH).max(4096).optional(),
  stateless: z.boolean().optional(),
  allowed_origins: z.array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin is scheme://host[:port], no path')).optional(),
  allowed_hosts: z.array(z.string().min(1).max(255)).optional(),
  session_idle_ms: z.number().int().min(1000).max(7 * 24 * 3600_000).optional(),
}).strict();

const ConnectionFileSchema = z.object({
  url: z.string().min(1),
  read_only: z.boolean().optional(),
  read_only_role: z.string().min(1).max(63).optional(),
  max_rows: z.number().int().min(1).max(LIMITS.max_rows).optional(),
  max_bytes: z.number().int().min(1024).max(LIMITS.max_bytes).optional(),
  statement_timeout_ms: z.number().int().min(1).max(LIMITS.statement_timeout_ms).optional(),
  migrations_dir: z.string().min(1).optional(),
  pool_size: z.number().int().min(1).max(100).optional(),
  acquire_timeout_ms: z.number().int().min(1).max(600_000).optional(),
  /** SQLite: create the file's missing directories (otherwise refused: a typo must not make a new empty database). */
  create_directory: z.boolean().optional(),
}).strict();

const QueryLogFileSchema = z.object({
  path: z.string().min(1).optional(),
  memory_entries: z.number().int().min(100).max(1_000_000).optional(),
  max_entries: z.number().int().min(1000).max(10_000_000).optional(),
}).strict();

const ConfigFileSchema = z.object({
  connections: z.record(z.string().regex(CONNECTION_NAME, CONNECTION_NAME_RULE), ConnectionFileSchema).optional(),
  read_only: z.boolean().optional(),
  backup_dir: z.string().min(1).optional(),
  log_level: z.enum(LOG_LEVELS).optional(),
  allow_runtime_connections: z.boolean().optional(),
  query_log: QueryLogFileSchema.optional(),
  transport: z.enum(TRANSPORTS).optional(),
  http: HttpFileSchema.optional(),
  tools: z.array(z.string().min(1).max(63)).min(1).optional(),
}).strict();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;

export interface ConnectionConfig {
  name: string;
  url: string;
  backend: Backend;
  /** SQLite only: absolute path or ':memory:'. */
  file?: string;
  read_only: boolean;
  /** PostgreSQL read-only connections: the role agent statements run as (SPEC §6). */
  read_only_role?: string;
  max_rows: number;
  max_bytes: number;
  statement_timeout_ms: number;
  pool_size: number;
  acquire_timeout_ms: number;
  migrations_dir: string;
  /** SQLite: missing directories of the file are created (config `create_directory`; the default connection's). */
  create_directory: boolean;
}

export interface QueryLogConfig {
  /** SQLite file the log is persisted to (absolute), or null: memory only. */
  path: string | null;
  /** Recent statements kept in memory (the ring), for `since` windows without a file. */
  memory_entries: number;
  /** Rows kept in the file; older ones are deleted. */
  max_entries: number;
}

export interface HttpConfig {
  /** Interface to bind; loopback (127.0.0.1) unless configured. */
  host: string;
  /** 0 picks a free port (the log line `listening` gives the URL). */
  port: number;
  /** Bearer token every /mcp request must carry; required when host is not loopback. */
  token?: string;
  /** No sessions: every POST is served by a fresh server (for several instances behind a load balancer). */
  stateless: boolean;
  /** Origins accepted besides the loopback origins of the bound port. */
  allowed_origins: string[];
  /** Host header values accepted besides the loopback names of the bound port. */
  allowed_hosts: string[];
  /** A session without requests for this long is closed. */
  session_idle_ms: number;
}

export interface Config {
  connections: Map<string, ConnectionConfig>;
  read_only: boolean;
  data_dir: string;
  backup_dir: string;
  log_level: (typeof LOG_LEVELS)[number];
  allow_runtime_connections: boolean;
  query_log: QueryLogConfig;
  transport: (typeof TRANSPORTS)[number];
  http: HttpConfig;
  /** Managers or tool names to expose (--tools); null exposes every tool. */
  tools: string[] | null;
  /** Where the config came from, for the start-up banner. */
  source: string;
}

export function dataDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share');
  return join(base, 'codomyrmex-db');
}

/** Items in a sentence: "a, b or c". */
const listed = (items: readonly string[], last: 'or' | 'and'): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`);

/** The URL prefixes every backend answers to, for messages: "postgres://, postgresql://, … or sqlite:". */
export function urlSchemesText(): string {
  return listed(BACKEND_NAMES.flatMap((name) => backendModule(name).connection.schemes), 'or');
}

/** Every backend by its label, for a sentence: "PostgreSQL, MySQL/MariaDB and SQLite". */
export function backendLabels(): string {
  return listed(BACKEND_NAMES.map((name) => backendModule(name).label), 'and');
}

/** The URL forms of every backend, as --help shows them. */
export function urlForms(): string[] {
  return BACKEND_NAMES.flatMap((name) => backendModule(name).connection.urlForms);
}

/** Recognises the backend of a URL and checks it (before any connection); file databases also yield their file. */
export function parseConnectionUrl(url: string, baseDir: string): { backend: Backend; file?: string } {
  for (const backend of BACKEND_NAMES) {
    const parsed = backendModule(backend).connection.parseUrl(url, baseDir);
    if (parsed) return { backend, ...parsed };
  }
  throw new DbError('INVALID_INPUT', `unsupported URL scheme: use ${urlSchemesText()}`, { scheme: url.split(':')[0].slice(0, 20) });
}

/**
 * The URL with any password replaced, safe to show. The password runs to the LAST
 * `@` of the authority, as URL parsers (and the drivers) read it, so an unencoded
 * `@` inside a password is hidden too.
 */
export function safeUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@?#]*):[^/?#]*@/i, '$1:***@');
}

/** Secrets a URL carries (its password, raw and decoded), for redaction everywhere. */
export function urlSecrets(url: string): string[] {
  const m = /^[a-z][a-z0-9+.-]*:\/\/[^:/@?#]*:([^/?#]+)@/i.exec(url);
  if (!m) return [];
  const raw = m[1];
  let decoded = raw;
  try { decoded = decodeURIComponent(raw); } catch { /* keep raw */ }
  return [...new Set([raw, decoded])].filter((s) => s.length >= 3);
}

function readConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new DbError('INVALID_INPUT', `cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DbError('INVALID_INPUT', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  refuseDuplicateKeys(text, path);
  const parsed = ConfigFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join('.') || '(root)';
    throw new DbError('INVALID_INPUT', `config file ${path}: field "${field}": ${issue.message}`, { field });
  }
  return parsed.data;
}

export interface CliOptions {
  connection: string[];
  config?: string;
  'read-only': boolean;
  'allow-runtime-connections': boolean;
  'log-level'?: string;
  'query-log'?: string;
  transport?: string;
  host?: string;
  port?: string;
  'http-token'?: string;
  stateless: boolean;
  tools?: string;
  help: boolean;
  version: boolean;
}

export function parseCli(argv: string[]): CliOptions {
  try {
    const { values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        connection: { type: 'string', multiple: true, short: 'c', default: [] },
        config: { type: 'string' },
        'read-only': { type: 'boolean', default: false },
        'allow-runtime-connections': { type: 'boolean', default: false },
        'log-level': { type: 'string' },
        'query-log': { type: 'string' },
        transport: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        'http-token': { type: 'string' },
        stateless: { type: 'boolean', default: false },
        tools: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
        version: { type: 'boolean', short: 'v', default: false },
      },
    });
    return values as CliOptions;
  } catch (err) {
    throw new DbError('INVALID_INPUT', `${(err as Error).message}; see --help`);
  }
}

function parseConnectionFlag(flag: string): [string, string] {
  const eq = flag.indexOf('=');
  const name = flag.slice(0, eq);
  if (eq < 1 || !CONNECTION_NAME.test(name)) {
    throw new DbError('INVALID_INPUT', '--connection takes NAME=URL, NAME being letters, digits, _ and -, starting with a letter');
  }
  return [name, flag.slice(eq + 1)];
}

type FileConnection = z.infer<typeof ConnectionFileSchema>;

export function buildConnection(name: string, entry: FileConnection, baseDir: string, globalReadOnly: boolean, dataDirPath: string): ConnectionConfig {
  const { backend, file } = parseConnectionUrl(entry.url, baseDir);
  return {
    name,
    url: entry.url,
    backend,
    file,
    read_only: entry.read_only ?? globalReadOnly,
    ...(entry.read_only_role ? { read_only_role: entry.read_only_role } : {}),
    max_rows: entry.max_rows ?? DEFAULTS.max_rows,
    max_bytes: entry.max_bytes ?? DEFAULTS.max_bytes,
    statement_timeout_ms: entry.statement_timeout_ms ?? DEFAULTS.statement_timeout_ms,
    pool_size: entry.pool_size ?? DEFAULTS.pool_size,
    acquire_timeout_ms: entry.acquire_timeout_ms ?? DEFAULTS.acquire_timeout_ms,
    migrations_dir: entry.migrations_dir
      ? resolve(baseDir, entry.migrations_dir)
      : join(dataDirPath, 'migrations', name),
    create_directory: entry.create_directory ?? false,
  };
}

/** A path from the flag or env resolves against the working directory, one from the file against the file's directory. */
function queryLogConfig(cli: CliOptions, env: NodeJS.ProcessEnv, file: ConfigFile, cwd: string, fileDir: string): QueryLogConfig {
  const given = cli['query-log'] ?? env.CODOMYRMEX_DB_QUERY_LOG;
  const path = given ? resolve(cwd, given) : file.query_log?.path ? resolve(fileDir, file.query_log.path) : null;
  return {
    path,
    memory_entries: file.query_log?.memory_entries ?? QUERY_LOG_DEFAULTS.memory_entries,
    max_entries: file.query_log?.max_entries ?? QUERY_LOG_DEFAULTS.max_entries,
  };
}

/** 127.0.0.0/8, ::1 and localhost: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

function parsePort(text: string, source: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65_535) throw new DbError('INVALID_INPUT', `${source} must be a port number, 0 to 65535`);
  return n;
}

/** Transport settings, flags over env over file. Refuses an exposed host without a token. */
function loadTransport(cli: CliOptions, env: NodeJS.ProcessEnv, file: ConfigFile): Pick<Config, 'transport' | 'http'> {
  const transport = cli.transport ?? env.CODOMYRMEX_DB_TRANSPORT ?? file.transport ?? 'stdio';
  if (!(TRANSPORTS as readonly string[]).includes(transport)) throw new DbError('INVALID_INPUT', `transport must be one of ${TRANSPORTS.join(', ')}`);
  const httpFlags = ['host', 'port', 'http-token', 'stateless'].filter((f) => cli[f as keyof CliOptions]);
  if (transport !== 'http' && httpFlags.length) throw new DbError('INVALID_INPUT', `--${httpFlags[0]} applies only to --transport http`);
  const f = file.http ?? {};
  const portText = cli.port ?? env.CODOMYRMEX_DB_HTTP_PORT;
  const token = cli['http-token'] ?? (env.CODOMYRMEX_DB_HTTP_TOKEN || undefined) ?? f.token;
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) throw new DbError('INVALID_INPUT', `the HTTP token must be at least ${MIN_TOKEN_LENGTH} characters`);
  const http: HttpConfig = {
    host: cli.host ?? env.CODOMYRMEX_DB_HTTP_HOST ?? f.host ?? HTTP_DEFAULTS.host,
    port: portText !== undefined ? parsePort(portText, cli.port !== undefined ? '--port' : 'CODOMYRMEX_DB_HTTP_PORT') : f.port ?? HTTP_DEFAULTS.port,
    token,
    stateless: cli.stateless || (f.stateless ?? false),
    allowed_origins: f.allowed_origins ?? [],
    allowed_hosts: f.allowed_hosts ?? [],
    session_idle_ms: f.session_idle_ms ?? HTTP_DEFAULTS.session_idle_ms,
  };
  if (transport === 'http' && !isLoopbackHost(http.host) && !http.token) {
    throw new DbError('INVALID_INPUT', `refusing to serve HTTP on ${http.host} without a token: other machines can reach it; set CODOMYRMEX_DB_HTTP_TOKEN (or --http-token, or http.token in the config file), or bind 127.0.0.1`);
  }
  return { transport: transport as Config['transport'], http };
}

/**
 * Served over HTTP without sessions: any of several instances may answer the next request,
 * so nothing one request leaves in this process (a runtime connection) reaches the next.
 */
export function servesStateless(config: Pick<Config, 'transport' | 'http'>): boolean {
  return config.transport === 'http' && config.http.stateless;
}

/** `--tools queries,run_migration`: names are checked against the real tools when the server is built. */
function loadTools(cli: CliOptions, env: NodeJS.ProcessEnv, file: ConfigFile): string[] | null {
  const text = cli.tools ?? env.CODOMYRMEX_DB_TOOLS;
  const names = text !== undefined ? text.split(',').map((s) => s.trim()).filter(Boolean) : file.tools;
  if (names === undefined) return null;
  if (names.length === 0) throw new DbError('INVALID_INPUT', '--tools needs at least one manager or tool name');
  return [...new Set(names)];
}

/** Flags over env over file. `--read-only` applies to every connection whose file entry does not say otherwise. */
export function loadConfig(cli: CliOptions, env: NodeJS.ProcessEnv, cwd: string): Config {
  const configPath = cli.config ?? env.CODOMYRMEX_DB_CONFIG;
  const file: ConfigFile = configPath ? readConfigFile(resolve(cwd, configPath)) : {};
  const fileDir = configPath ? dirname(resolve(cwd, configPath)) : cwd;
  const data = dataDir(env);
  const readOnly = cli['read-only'] || env.CODOMYRMEX_DB_READ_ONLY === '1' || env.CODOMYRMEX_DB_READ_ONLY === 'true' || (file.read_only ?? false);
  const entries = new Map<string, { entry: FileConnection; baseDir: string }>();
  for (const [name, entry] of Object.entries(file.connections ?? {})) entries.set(name, { entry, baseDir: fileDir });
  const override = (name: string, url: string): void => {
    const prev = entries.get(name);
    entries.set(name, { entry: { ...(prev?.entry ?? {}), url }, baseDir: cwd });
  };
  if (env.DATABASE_URL) override('default', env.DATABASE_URL);
  const flags = cli.connection.map(parseConnectionFlag);
  refuseDuplicateFlags(flags.map(([name]) => name));
  for (const flag of flags) override(...flag);
  // The default database lives in our data directory: that one is created.
  if (entries.size === 0) entries.set('default', { entry: { url: `sqlite://${join(data, 'default.db')}`, create_directory: true }, baseDir: data });
  const connections = new Map<string, ConnectionConfig>();
  for (const [name, { entry, baseDir }] of entries) {
    try {
      connections.set(name, buildConnection(name, entry, baseDir, readOnly, data));
    } catch (err) {
      throw err instanceof DbError ? new DbError(err.code, `connection "${name}": ${err.message}`, { ...err.details, connection: name }) : err;
    }
  }
  const level = cli['log-level'] ?? env.CODOMYRMEX_DB_LOG_LEVEL ?? file.log_level ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new DbError('INVALID_INPUT', `log level must be one of ${LOG_LEVELS.join(', ')}`);
  return {
    connections,
    read_only: readOnly,
    data_dir: data,
    backup_dir: file.backup_dir ? resolve(fileDir, file.backup_dir) : join(data, 'backups'),
    log_level: level as Config['log_level'],
    allow_runtime_connections: cli['allow-runtime-connections'] || (file.allow_runtime_connections ?? false),
    query_log: queryLogConfig(cli, env, file, cwd, fileDir),
    ...loadTransport(cli, env, file),
    tools: loadTools(cli, env, file),
    source: configPath ? resolve(cwd, configPath) : 'defaults',
  };
}
