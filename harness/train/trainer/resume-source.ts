// Which of a run's own checkpoints a resume loads: last.ckpt, else prev.ckpt (the one it
// replaced), each only when it verifies. A damaged one is never loaded: it is set aside as
// <name>.damaged (so that the next save does not rotate it into prev.ckpt) and the run says in
// one line which file it was and where it restarts from instead. Stale temp files of a writer
// that died mid-save are removed first.
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DamagedCheckpointError, readCheckpoint, type LoadedCheckpoint } from '../checkpoint.ts';
import type { TrainerIO } from './io.ts';

export const LAST_CHECKPOINT = 'last.ckpt';
export const PREVIOUS_CHECKPOINT = 'prev.ckpt';

export interface OwnCheckpoint {
  loaded: LoadedCheckpoint;
  path: string;
}

/** Removes `<checkpoint>.tmp-<pid>` files: a save that never reached its rename (killed, disk full). */
export function removeStaleTemps(outDir: string, log: (line: string) => void): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    if (!/\.ckpt\.tmp-\d+$/.test(name)) continue;
    rmSync(join(outDir, name), { force: true });
    log(`removed ${join(outDir, name)}: a checkpoint save that never finished`);
  }
}

/**
 * The newest own checkpoint that verifies, or null. fallback: what the run starts from when
 * none does ('scratch', or stage 1's checkpoint for a stage 2), for the notice line.
 */
export function loadOwnCheckpoint(outDir: string, io: Pick<TrainerIO, 'emit' | 'log'>, fallback: string): OwnCheckpoint | null {
  const damaged: DamagedCheckpointError[] = [];
  let chosen: OwnCheckpoint | null = null;
  for (const name of [LAST_CHECKPOINT, PREVIOUS_CHECKPOINT]) {
    const path = join(outDir, name);
    if (!existsSync(path)) continue;
    try {
      chosen = { loaded: readCheckpoint(path), path };
      break;
    } catch (err) {
      if (!(err instanceof DamagedCheckpointError)) throw err;
      damaged.push(err);
      setAside(path, io.log);
    }
  }
  const instead = chosen ? `${chosen.path} (step ${chosen.loaded.header.state.step})` : fallback;
  for (const d of damaged) notice(io, `damaged checkpoint ${d.path} (${d.why}); set aside as ${d.path}.damaged, restarting from ${instead}`);
  if (chosen?.loaded.unverified) notice(io, `${chosen.path} was written before checkpoints carried checksums: loaded without verification`);
  return chosen;
}

/** Renamed, not deleted (it may help to see what happened); where it cannot be renamed it stays, and is never loaded anyway. */
function setAside(path: string, log: (line: string) => void): void {
  try {
    renameSync(path, `${path}.damaged`);
  } catch (err) {
    log(`could not rename ${path} to ${path}.damaged: ${(err as Error).message}`);
  }
}

function notice(io: Pick<TrainerIO, 'emit' | 'log'>, message: string): void {
  io.log(message);
  io.emit({ type: 'notice', message });
}
