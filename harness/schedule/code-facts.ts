// The code a sweep runs (issue 18, provenance): the git commit of the harness's checkout and a
// hash of its uncommitted changes to tracked files. Asked once per sweep (a few git calls);
// an unpacked copy that is no git checkout, or a machine without git, records 'unknown'.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { CODE_FACTS_ENV, type CodeFacts } from '../contract/provenance.ts';
import { REPO_ROOT } from './repo-root.ts';

/** git in root with the caller's GIT_DIR / GIT_WORK_TREE left out: they would name another repository. */
function git(root: string, args: string[]): Buffer {
  const env = { ...process.env };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_EXTERNAL_DIFF']) delete env[k];
  return execFileSync('git', ['-C', root, '-c', 'core.quotepath=on', ...args], {
    env, stdio: ['ignore', 'pipe', 'ignore'], timeout: 20_000, maxBuffer: 512 * 1024 * 1024,
  });
}

const unknown = (reason: string): CodeFacts => ({ commit: 'unknown', diffHash: null, changedFiles: null, reason });

/** The commit and uncommitted diff of the checkout at root (the harness's own by default). */
export function collectCodeFacts(root: string = REPO_ROOT): CodeFacts {
  let top: string;
  try {
    top = git(root, ['rev-parse', '--show-toplevel']).toString().trim();
  } catch (err) {
    return unknown((err as NodeJS.ErrnoException).code === 'ENOENT' ? 'git is not installed' : 'not a git checkout');
  }
  // A copy unpacked inside some other repository is not that repository's code.
  if (realpathSync(top) !== realpathSync(root)) return unknown('not a git checkout (inside another repository)');
  let commit: string;
  try {
    commit = git(root, ['rev-parse', '--verify', 'HEAD']).toString().trim();
  } catch {
    return unknown('the git checkout has no commit yet');
  }
  try {
    // Fixed options, so the same changes give the same hash whatever the user's git config says.
    const diff = git(root, ['diff', 'HEAD', '--no-color', '--no-ext-diff', '--no-textconv', '--binary', '--full-index', '--no-renames']);
    if (diff.length === 0) return { commit, diffHash: null, changedFiles: 0 };
    const files = git(root, ['diff', 'HEAD', '--name-only', '--no-renames']).toString().split('\n').filter(Boolean).length;
    return { commit, diffHash: createHash('sha256').update(diff).digest('hex'), changedFiles: files };
  } catch {
    return { ...unknown('git diff failed'), commit };
  }
}

/**
 * Collects the code facts once for this harness process and hands them on: to the store (for
 * the runs it records) and, through the environment, to every trainer it launches.
 */
export function shareCodeFacts(store: { codeFacts: CodeFacts | null }): CodeFacts {
  const facts = collectCodeFacts();
  store.codeFacts = facts;
  process.env[CODE_FACTS_ENV] = JSON.stringify(facts);
  return facts;
}
