// Runs stored before data fingerprints were part of run ids. Their ids hash the same settings
// without the data's contents, so nothing tells which data they trained on (the very thing the
// fingerprint fixes): a sweep does not count them as finished, and trains the runs again under
// their new ids. They stay in the database, listed by runs, show and report; this says so once.
import type { RunConfig } from '../contract/config.ts';
import { runIdOf } from '../spec/run-id.ts';
import type { RunPlan } from '../spec/plan.ts';
import type { Store } from '../store/store.ts';
import { isFinished } from '../schedule/run-lifecycle.ts';

/** The id a plan had before fingerprints: its config without one, its stage 1's id likewise. */
function legacyIds(plans: readonly RunPlan[]): Map<string, string> {
  const out = new Map<string, string>();
  const withoutFingerprint = (c: RunConfig): RunConfig => ({ ...c, data: { ...c.data, fingerprint: undefined } });
  for (const p of plans) {
    if (p.config.data.fingerprint === undefined) continue;
    const dep = p.dependsOn === null ? null : (out.get(p.dependsOn) ?? undefined);
    if (dep === undefined) continue; // its stage 1 is not in this sweep
    out.set(p.id, runIdOf(withoutFingerprint(p.config), dep));
  }
  return out;
}

/** One line when some plans match finished runs stored without a fingerprint; null otherwise. */
export function legacyRunsLine(store: Store, plans: readonly RunPlan[]): string | null {
  const found: string[] = [];
  for (const [id, legacy] of legacyIds(plans)) {
    if (store.getRun(id) === undefined && isFinished(store.getRun(legacy)?.status)) found.push(legacy);
  }
  if (found.length === 0) return null;
  return `${found.length} run(s) of this sweep were finished before data fingerprints were part of run ids (${found.slice(0, 3).join(', ')}${found.length > 3 ? ', ...' : ''}); which data they read is unknown, so they train again under new ids; the old ones stay listed (npm run runs)`;
}
