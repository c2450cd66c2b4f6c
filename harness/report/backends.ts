// Where runs trained, as words: the backend, and for webgpu the adapter (vendor, device or
// description), the optional features its device used, and the fp16 path. `npm run show` and
// the report print these, so a figure read from either says what hardware made it.
import type { AdapterDescription } from '../contract/protocol.ts';
import { jsonColumn, type RunRow } from '../store/rows.ts';

/** "webgpu on nvidia NVIDIA H200 (features timestamp-query; shader-f16 offered)", or just the backend. */
export function backendLabel(row: Pick<RunRow, 'backend' | 'matmul' | 'adapter' | 'fp16_path'>): string {
  if (!row.backend) return '-';
  const parts = [row.backend === row.matmul || !row.matmul ? row.backend : `${row.backend} (matmul ${row.matmul})`];
  const a = jsonColumn<AdapterDescription>(row.adapter);
  if (a) {
    const name = a.device || a.description || a.architecture;
    const extras = [a.features.length ? `features ${a.features.join(', ')}` : 'no optional features', a.shaderF16 ? 'shader-f16 offered' : 'no shader-f16'];
    if (a.software) extras.push('software driver');
    parts.push(`on ${a.vendor} ${name} [${a.description}] (${extras.join('; ')})`);
  }
  if (row.fp16_path) parts.push(`fp16 ${row.fp16_path}`);
  return parts.join(' ');
}

/** One line per distinct backend among the runs, with how many runs used it. */
export function backendsSummary(rows: Pick<RunRow, 'backend' | 'matmul' | 'adapter' | 'fp16_path'>[]): string[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    if (!r.backend) continue;
    const label = backendLabel({ ...r, fp16_path: null });
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, n]) => `trained on ${label}: ${n} run${n === 1 ? '' : 's'}`);
}
