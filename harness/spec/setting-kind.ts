// The value type a setting holds, read from the run-config schema, so a value typed on the
// command line is parsed as that type: `inrank.explainedRatio=0.7,0.8` gives numbers,
// `data.corpus=brown` a string, `train.maxSteps=null` null where the setting is nullable.
import { runConfigSchema } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';

export type SettingKind =
  | { type: 'number'; nullable: boolean }
  | { type: 'boolean'; nullable: boolean }
  | { type: 'string'; nullable: boolean }
  | { type: 'enum'; nullable: boolean; options: readonly string[] };

/** The parts of a zod v4 schema node read here (its def: type tag, wrapped type, enum entries). */
interface ZodNode {
  def: { type: string; innerType?: ZodNode; entries?: Record<string, string>; shape?: Record<string, ZodNode> };
  shape?: Record<string, ZodNode>;
}

const WRAPPERS = new Set(['default', 'prefault', 'optional', 'nullable', 'readonly']);

function unwrap(node: ZodNode): { node: ZodNode; nullable: boolean } {
  let nullable = false;
  let n = node;
  while (WRAPPERS.has(n.def.type) && n.def.innerType) {
    if (n.def.type === 'nullable') nullable = true;
    n = n.def.innerType;
  }
  return { node: n, nullable };
}

/** The kind of a RunConfig dot path ('train.lr', 'method'); undefined for a path the schema lacks. */
export function settingKind(path: string): SettingKind | undefined {
  let node = runConfigSchema as unknown as ZodNode;
  let nullable = false;
  for (const part of path.split('.')) {
    const inner = unwrap(node).node;
    const shape = inner.shape ?? inner.def.shape;
    const next = shape?.[part];
    if (!next) return undefined;
    node = next;
  }
  const leaf = unwrap(node);
  nullable = leaf.nullable;
  const t = leaf.node.def.type;
  if (t === 'number' || t === 'boolean' || t === 'string') return { type: t, nullable };
  if (t === 'enum') return { type: 'enum', nullable, options: Object.values(leaf.node.def.entries ?? {}) };
  return undefined;
}

/** Parses one value as the setting's type; a value that is not of it is one UserError line. */
export function parseTypedValue(path: string, text: string, where: string): unknown {
  const kind = settingKind(path);
  const v = text.trim();
  if (!kind) return v;
  if (kind.nullable && v === 'null') return null;
  const bad = (what: string): never => {
    throw new UserError(`${where}: '${v}' is not ${what} (${path} takes ${what}${kind.nullable ? ' or null' : ''})`);
  };
  switch (kind.type) {
    case 'number': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) bad('a number');
      return n;
    }
    case 'boolean':
      if (v === 'true') return true;
      if (v === 'false') return false;
      return bad('true or false');
    case 'enum':
      if (!kind.options.includes(unquote(v))) bad(`one of ${kind.options.join(', ')}`);
      return unquote(v);
    case 'string':
      return unquote(v);
  }
}

/** Hydra allows quoting a value that would otherwise split or parse: 'a,b' or "x". */
export function unquote(text: string): string {
  const m = /^(['"])(.*)\1$/s.exec(text);
  return m ? m[2]! : text;
}
