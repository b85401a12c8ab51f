/**
 * What tools/list shows of a tool: its zod schemas as compact JSON Schema and the
 * annotations that say something. Every byte here is in every agent's context on every
 * turn (SPEC §16 lists the rules; a test holds the budget).
 */
import type { Tool, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

/** What tools/list shows of a tool definition (kit.ts's ToolDef extends it). */
export interface ListedTool {
  name: string;
  title: string;
  description: string;
  input: z.ZodObject;
  output: z.ZodObject;
  annotations: ToolAnnotations;
  /**
   * Shortens the listed input schema in place, where a part repeats what another tool's
   * schema already shows (alter_table's add_columns: create_table's columns). The call
   * still validates against `input`.
   */
  trimListing?: (inputSchema: Record<string, unknown>) => void;
}

/**
 * Bounds and patterns the call handler enforces anyway (its error names the rule):
 * listing them costs every agent context on every turn. additionalProperties: false goes too: unknown keys are refused with the
 * valid ones named (describeIssue), which teaches more than the schema keyword would.
 */
const ENFORCED_NOT_LISTED = new Set(['maxLength', 'maxItems', 'minItems', 'minimum', 'maximum', 'pattern', 'additionalProperties']);

const isEmpty = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;

/** Says nothing a JSON value does not already satisfy: `items: {}`, `additionalProperties: {}`, string keys. */
function saysNothing(k: string, v: unknown): boolean {
  if ((k === 'items' || k === 'additionalProperties') && isEmpty(v)) return true;
  return k === 'propertyNames' && JSON.stringify(v) === '{"type":"string"}';
}

/**
 * anyOf [{type: A, ...}, {type: B}, ...] as one {type: [A, B, ...], ...}: the same values
 * are valid (keywords like properties and items only apply to their own type), written
 * once. Left alone when a member constrains values of every type (enum, const) or when
 * two members carry more than a type.
 */
function mergeTypes(node: Record<string, unknown>): Record<string, unknown> {
  const members = node.anyOf;
  if (!Array.isArray(members) || !members.every((m) => typeof (m as { type?: unknown }).type === 'string')) return node;
  const rich = members.filter((m) => Object.keys(m as object).length > 1) as Array<Record<string, unknown>>;
  if (rich.length > 1 || rich.some((m) => 'enum' in m || 'const' in m)) return node;
  const { anyOf: _merged, ...rest } = node;
  return { ...rest, ...(rich[0] ?? {}), type: members.map((m) => (m as { type: string }).type) };
}

/** Output schemas serve validation, not the model: their field meanings live in SPEC, not in every tools/list. */
function compact(node: unknown, io: 'input' | 'output'): unknown {
  if (Array.isArray(node)) return node.map((n) => compact(n, io));
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (ENFORCED_NOT_LISTED.has(k) && typeof v !== 'object') continue;
    if (k === 'minLength' && v === 1) continue;
    if (saysNothing(k, v)) continue;
    if (io === 'output' && k === 'description' && typeof v === 'string') continue;
    out[k] = compact(v, io);
  }
  // Members first, so bounds dropped above do not keep a member "rich".
  return mergeTypes(out);
}

/**
 * JSON Schema as the SDK would list it (draft-07), minus the `$schema` line every schema
 * would repeat and the length and count bounds (still enforced on input). Shared parts
 * are written out, not $ref'd: zod's `reused: "ref"` made create_table's schema larger
 * (allOf wrappers around every described reference), and not every client resolves $ref.
 */
function jsonSchema(schema: z.ZodObject, io: 'input' | 'output'): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io }) as Record<string, unknown>;
  const listed = compact(rest, io) as Tool['inputSchema'];
  return io === 'output' ? shallow(listed, OUTPUT_DEPTH) as Tool['inputSchema'] : listed;
}

/** Output fields and, one level down, their fields' types: 23 KB of tools/list instead of 27 KB at 3 levels. */
const OUTPUT_DEPTH = 2;

/**
 * An output schema down to `depth` levels of properties and items, `required` at the
 * top only; below, a field is listed by its type alone (clients still validate it as
 * that type). The nested shapes are in SPEC: a client validating structuredContent
 * needs the top, and a model reads the data itself.
 */
function shallow(node: unknown, depth: number, root = true): unknown {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return node;
  const { required, ...n } = node as Record<string, unknown>;
  if (depth <= 0) return 'type' in n ? { type: n.type } : {};
  const out: Record<string, unknown> = root && required ? { ...n, required } : n;
  if (n.properties) out.properties = Object.fromEntries(Object.entries(n.properties as object).map(([k, v]) => [k, shallow(v, depth - 1, false)]));
  if (n.items) out.items = shallow(n.items, depth - 1, false);
  return out;
}

/**
 * The hints that say something: destructiveHint and idempotentHint mean nothing on a
 * read-only tool (MCP: "meaningful only when readOnlyHint == false"), and the protocol's
 * defaults (destructiveHint true, idempotentHint false) go without saying. openWorldHint
 * is false everywhere (its default is true).
 */
function hints(a: ToolAnnotations): ToolAnnotations {
  if (a.readOnlyHint) return { readOnlyHint: true, openWorldHint: false };
  return {
    readOnlyHint: false,
    ...(a.destructiveHint === false ? { destructiveHint: false } : {}),
    ...(a.idempotentHint ? { idempotentHint: true } : {}),
    openWorldHint: false,
  };
}

/** Every tool definition costs the agent context on every turn: nothing here that says nothing. */
export function listing(def: ListedTool): Tool {
  const inputSchema = jsonSchema(def.input, 'input');
  def.trimListing?.(inputSchema as Record<string, unknown>);
  return {
    name: def.name,
    title: def.title,
    description: def.description,
    inputSchema,
    outputSchema: jsonSchema(def.output, 'output'),
    annotations: hints(def.annotations),
  };
}

/** A trimListing that leaves accepted arguments unlisted: aliases kept for old clients, options this server refuses. */
export function unlisted(...keys: string[]): NonNullable<ListedTool['trimListing']> {
  return (listed) => {
    const properties = listed.properties as Record<string, unknown>;
    for (const k of keys) delete properties[k];
  };
}
