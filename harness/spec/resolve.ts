// Parsing a resolved run config during expansion. A plan may be expanded (dry run, --list,
// tests) before the data folder is known, so a missing data.dataDir is not an error here:
// checkProfileRequirements and the trainer refuse it where it matters.
import { parseRunConfig, type RunConfig } from '../contract/config.ts';
import { UserError } from '../contract/errors.ts';

const DATA_DIR_PLACEHOLDER = '(data dir to be given with --data-dir)';

export function parsePlannedConfig(raw: Record<string, unknown>, context: string): RunConfig {
  const data = (raw.data ?? {}) as Record<string, unknown>;
  const needsDir = data.corpus !== undefined && data.corpus !== 'brown' && (data.dataDir === undefined || data.dataDir === null);
  const probe = needsDir ? { ...raw, data: { ...data, dataDir: DATA_DIR_PLACEHOLDER } } : raw;
  let config: RunConfig;
  try {
    config = parseRunConfig(probe);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${context}: ${err.message.replace(/^run config: /, '')}`);
    throw err;
  }
  if (needsDir) config.data.dataDir = null;
  return config;
}
