/**
 * When V8 optimises the server's functions. A call runs a few thousand lines of
 * JavaScript (the SDK's dispatch, the input schema, the driver's protocol, ours), most of
 * them once per call; with V8's default thresholds they stay in the interpreter for the
 * first thousands of calls of a process: a fresh server's PostgreSQL `SELECT 1` took
 * about twice what it takes once warm (bench/RESULTS.md, issue 17). Lower thresholds have
 * them optimised after tens of calls, on V8's background compiler threads; steady state,
 * memory and CPU per call stay as they were (measured on V8 11).
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The flags for this V8 (`process.versions.v8`), or none for a V8 whose thresholds were not
 * measured. V8 11 (Node 20): the interrupt budget, bytes of bytecode a function runs
 * before it is looked at for optimisation (default 67,584). V8 12 (Node 22): calls before
 * TurboFan (default 3,000).
 */
export function tieringFlags(v8Version: string): string[] {
  const major = Number(v8Version.split('.')[0]);
  if (major === 11) return ['--interrupt-budget=4096'];
  if (major === 12) return ['--invocation-count-for-turbofan=500'];
  return [];
}

/**
 * The flags to set: tieringFlags, less any whose value the operator gave to node (Node
 * takes these V8 flags as its own arguments, not in NODE_OPTIONS); none with
 * `CODOMYRMEX_DB_V8_TIERING=default`.
 */
export function flagsToSet(v8Version: string, given: readonly string[], setting: string | undefined): string[] {
  if (setting === 'default') return [];
  const named = (flag: string): string => flag.split('=')[0].replace(/_/g, '-');
  return tieringFlags(v8Version).filter((f) => !given.some((g) => named(g) === named(f)));
}

/**
 * Sets them, once the server is ready to serve: start-up code runs once, and optimising
 * it would only delay the start (cold start 99 → 142 ms when set before the bundle ran).
 * Not in the build's run that writes the code cache (start.ts): V8 refuses a cache made
 * under other flags than those it is compiled under, and here the bundle was compiled
 * before the flags were set.
 */
export function tierEarlier(): string[] {
  if (process.env.CMX_WRITE_CODE_CACHE === '1') return [];
  const flags = flagsToSet(process.versions.v8, process.execArgv, process.env.CODOMYRMEX_DB_V8_TIERING);
  for (const f of flags) setFlagsFromString(f);
  return flags;
}
