// Reading a run config back from the database. A run stored before a setting existed ran with
// the behaviour the harness had then, which is not always today's default: the three settings
// that made the defaults the reference's (embedding decay, the low-rank models' GELU, counting
// evaluation passes) default to the reference now, but older runs did the opposite. A stored
// config lacking one of them is read with the value it actually ran with.
import { runConfigSchema } from './config.ts';

/** A setting added after runs were stored, and the behaviour runs stored before it had. */
export interface LaterSetting {
  path: readonly [string, string];
  /** What a run stored without the key did. */
  before: boolean | string;
}

export const SETTINGS_ADDED_LATER: readonly LaterSetting[] = [
  { path: ['train', 'decayEmbeddings'], before: true },
  { path: ['model', 'activation'], before: 'gelu-tanh' },
  { path: ['inrank', 'countEvalPasses'], before: false },
];

/** The settings a stored config lacks, with the values the run ran with. */
export function missingLaterSettings(config: Record<string, unknown>): { key: string; value: boolean | string }[] {
  return SETTINGS_ADDED_LATER.flatMap(({ path: [section, key], before }) => {
    const sec = config[section];
    const present = typeof sec === 'object' && sec !== null && key in sec;
    return present ? [] : [{ key: `${section}.${key}`, value: before }];
  });
}

/**
 * A stored config with what the run ran with filled in: the later settings it lacks at their old
 * behaviour, then today's defaults for the rest. A config the schema refuses comes back as
 * stored (with the later settings filled), never as an error: an old database stays readable.
 */
export function readStoredConfig(config: Record<string, unknown>): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...config };
  for (const { path: [section, key], before } of SETTINGS_ADDED_LATER) {
    const sec = filled[section];
    const obj = typeof sec === 'object' && sec !== null ? (sec as Record<string, unknown>) : {};
    if (!(key in obj)) filled[section] = { ...obj, [key]: before };
  }
  const parsed = runConfigSchema.safeParse(filled);
  return parsed.success ? parsed.data : filled;
}
