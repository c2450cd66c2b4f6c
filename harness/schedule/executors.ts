// The registry of executors: adding one is adding its plugin to this list. The CLIs find an
// executor by name here, hand it its own flags, and never import an executor module.
import { UserError } from '../contract/errors.ts';
import { localPlugin } from './local-plugin.ts';
import type { ExecutorPlugin, ExecutorSettings, SweepExecutor } from './plugin.ts';
import { slurmPlugin } from './slurm/plugin.ts';

export type { ExecutorSettings, SweepExecutor } from './plugin.ts';

const PLUGINS: readonly ExecutorPlugin[] = [localPlugin, slurmPlugin];

export const EXECUTOR_NAMES: readonly string[] = PLUGINS.map((p) => p.name);

export const DEFAULT_EXECUTOR = localPlugin.name;

export function executorPlugin(name: string): ExecutorPlugin {
  const plugin = PLUGINS.find((p) => p.name === name);
  if (!plugin) throw new UserError(`--executor ${name}: use ${EXECUTOR_NAMES.slice(0, -1).join(', ')} or ${EXECUTOR_NAMES.at(-1)}`);
  return plugin;
}

/** Every executor's flags read out of a command line: by executor name, and the arguments left. */
export interface ExecutorFlags {
  byExecutor: Map<string, { flags: Record<string, unknown>; given: string[] }>;
  rest: string[];
}

/** Each executor's flags first: they take values (--time 4:00:00) the general parser does not know. */
export function takeExecutorFlags(argv: readonly string[]): ExecutorFlags {
  const byExecutor = new Map<string, { flags: Record<string, unknown>; given: string[] }>();
  let rest = [...argv];
  for (const plugin of PLUGINS) {
    const taken = plugin.takeFlags(rest);
    byExecutor.set(plugin.name, { flags: taken.flags, given: taken.given });
    rest = taken.rest;
  }
  return { byExecutor, rest };
}

/**
 * Opens the chosen executor for a sweep. Another executor's flags, or --detach where it means
 * nothing, are the user's mistake: one line naming the flag and the executor it belongs to.
 */
export function openExecutor(name: string, taken: ExecutorFlags, settings: Omit<ExecutorSettings, 'flags'>): SweepExecutor {
  const plugin = executorPlugin(name);
  if (settings.detach && !plugin.detaches) {
    const owner = PLUGINS.find((p) => p.detaches)!;
    throw new UserError(`--detach applies to ${owner.label} only: add --executor ${owner.name} (or set executor: '${owner.name}' in the spec)`);
  }
  for (const other of PLUGINS) {
    const flag = other === plugin ? undefined : taken.byExecutor.get(other.name)?.given[0];
    if (flag) throw new UserError(`${flag} applies to ${other.label} only: add --executor ${other.name} (or set executor: '${other.name}' in the spec)`);
  }
  return plugin.open({ ...settings, flags: taken.byExecutor.get(plugin.name)?.flags ?? {} });
}

/** For `npm run report`: every executor stores the results of jobs nobody followed. */
export async function collectUnattended(db: string, note: (line: string) => void): Promise<void> {
  for (const plugin of PLUGINS) await plugin.collectForReport?.(db, note);
}
