// A run's provenance as text for `npm run show` (issue 18): the code, data, runtime and adapter
// it trained with, and any earlier start whose facts differed. A run stored before provenance
// was kept says so instead.
import type { CodeFacts, ProvenanceEntry, RuntimeFacts } from '../contract/provenance.ts';
import { readProvenance } from '../store/provenance.ts';
import type { RunRow } from '../store/rows.ts';

export function codeText(c: CodeFacts | null): string {
  if (!c) return 'not recorded (started by a harness that did not know its code)';
  if (c.commit === 'unknown') return `unknown (${c.reason ?? 'no git facts'})`;
  if (c.diffHash === null) return `commit ${c.commit}${c.changedFiles === 0 ? ' (clean)' : ` (${c.reason ?? 'diff unknown'})`}`;
  return `commit ${c.commit} + uncommitted diff sha256:${c.diffHash} (${c.changedFiles ?? '?'} file(s))`;
}

const dataText = (d: unknown): string => (d === null || d === undefined ? 'no fingerprint in the run config' : typeof d === 'string' ? d : JSON.stringify(d));

function runtimeLines(rt: RuntimeFacts | null): [string, string][] {
  if (!rt) return [['runtime', 'not recorded (a trainer that did not report it)']];
  const packages = Object.entries(rt.packages).map(([name, v]) => `${name} ${v}`).join(', ');
  return [
    ['node / os', `${rt.node}, ${rt.os}`],
    ['cpu', `${rt.cpu} (${rt.cpus} logical), host ${rt.host}`],
    ['packages', packages || '-'],
    ['backend', `${rt.backend}, matmul ${rt.matmul}${rt.native ? ` (${rt.native})` : ''}`],
    ...(rt.gpuDriver ? [['gpu driver', rt.gpuDriver] as [string, string]] : []),
  ];
}

const shortFacts = (e: ProvenanceEntry): string =>
  `${codeText(e.code)}; ${e.runtime ? `${e.runtime.backend} on ${e.runtime.host}, node ${e.runtime.node}` : 'runtime not recorded'}`;

export function provenanceLines(r: RunRow): string[] {
  const p = readProvenance(r);
  const kv = (k: string, v: string): string => `  ${k.padEnd(16)} ${v}`;
  if (!p) return ['', 'provenance', kv('recorded', r.started_at ? 'no (the run started before provenance was kept)' : 'no (not started yet)')];
  const a = p.adapter;
  const out = [
    '', 'provenance',
    kv('code', codeText(p.code)),
    kv('data', dataText(p.data)),
    ...runtimeLines(p.runtime).map(([k, v]) => kv(k, v)),
    kv('gpu adapter', a ? `${a.vendor} ${a.architecture} ${a.device} [${a.description}]${a.software ? ' (software driver)' : ''}` : 'none'),
    kv('recorded', `${p.at}, trained under these from step ${p.fromStep}`),
  ];
  for (const e of p.earlier ?? []) out.push(kv('earlier start', `from step ${e.fromStep} (${e.at}): ${shortFacts(e)}`));
  return out;
}
