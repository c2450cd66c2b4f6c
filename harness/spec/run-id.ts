// Stable run ids: a short hash of the normalized resolved config, the data's content fingerprint
// included. Paths and display names are not part of it (the same training in another results
// folder or sweep, or on the same data in another folder, is the same run), and settings a
// method never reads are dropped (a full-rank run is the same run whatever the InRank block
// says), so two sweeps that share a run train it once.
import { createHash } from 'node:crypto';
import { resolveActivation, type RunConfig } from '../contract/config.ts';

/** The config as it bears on the result, with a stage 2's checkpoint path replaced by its stage 1's id. */
export function normalizeForId(config: RunConfig, stage1Id: string | null = null): Record<string, unknown> {
  const c = config; // only copied shallowly below; the config itself is never modified
  const out: Record<string, unknown> = { ...c };
  delete out.name;
  delete out.outDir;
  delete out.resume;
  const data: Record<string, unknown> = { ...c.data };
  delete data.dataDir; // where the corpus lives, not which corpus
  delete data.cacheDir;
  // data.fingerprint (the content hash of the files) stays: edited data is a new run. Runs
  // planned without one (before it existed, or by a caller that does not fingerprint) keep their
  // ids, since an absent key is left out of the canonical JSON.
  out.data = data;
  // The GELU as it computes: 'reference' and the form it resolves to for the method are one training.
  out.model = { ...c.model, activation: resolveActivation(c.model.activation, c.method) };
  const stage: Record<string, unknown> = { ...c.stage };
  delete stage.from;
  if (c.stage.kind !== 'stage2') delete stage.resetMoments;
  if (c.stage.kind === 'single') delete stage.stage1Steps;
  out.stage = stage;
  if (c.method === 'inrank') {
    // Workers never change a result; lag 0 (the default) is left out so ids from before it existed hold.
    const { determinationWorkers: _workers, ...inrank } = c.inrank;
    if (inrank.determinationLag === 0) delete (inrank as Partial<typeof inrank>).determinationLag;
    out.inrank = inrank;
  }
  // The whole test split (the default) is left out, so ids from before testBatches existed hold.
  if (c.train.testBatches === null) {
    const { testBatches: _whole, ...train } = c.train;
    out.train = train;
  }
  if (c.method === 'full') delete out.inrank;
  if (c.method === 'fixed') out.inrank = { initModes: c.inrank.initModes, initScale: c.inrank.initScale };
  if (c.precision.kind === 'fp32') out.precision = { kind: 'fp32' }; // loss scaling is fp16 only
  if (stage1Id !== null) out.stage1 = stage1Id;
  return out;
}

/**
 * JSON with object keys sorted at every level, so key order never changes a hash. The same
 * text JSON.stringify gives (ids must never move), written in one pass without the sorted
 * copies a replacer would make: a grid of 100,000 runs hashes each config once.
 */
export function canonicalJson(value: unknown): string {
  return writeJson(value) ?? 'null';
}

/** A string as JSON: quoted as it is when nothing in it needs escaping (the common case), else by JSON.stringify. */
function jsonString(text: string): string {
  return /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(text) ? `"${text}"` : JSON.stringify(text);
}

/** JSON text of a value; undefined where JSON.stringify leaves the value out (undefined, functions). */
function writeJson(v: unknown): string | undefined {
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return undefined;
  if (typeof v === 'string') return jsonString(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return writeJson((v as { toJSON: () => unknown }).toJSON());
  if (Array.isArray(v)) return `[${v.map((x) => writeJson(x) ?? 'null').join(',')}]`;
  const parts: string[] = [];
  for (const key of Object.keys(v).sort()) {
    const text = writeJson((v as Record<string, unknown>)[key]);
    if (text !== undefined) parts.push(`${jsonString(key)}:${text}`);
  }
  return `{${parts.join(',')}}`;
}

/** 16 hex digits of sha256 (64 bits: collisions are not a concern at sweep sizes). */
export function runIdOf(config: RunConfig, stage1Id: string | null = null): string {
  return createHash('sha256').update(canonicalJson(normalizeForId(config, stage1Id))).digest('hex').slice(0, 16);
}
