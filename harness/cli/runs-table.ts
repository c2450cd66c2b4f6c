// The stored runs as text for `npm run runs`: a terminal table that fits the terminal (the
// reason wraps, the least needed columns go first), Markdown, or CSV / JSON with one raw value
// per column for tools.
import type { RunRow, SweepRow } from '../store/rows.ts';
import { droppedNote, fitTable } from '../report/fit-table.ts';
import { wrapText, type Format } from '../report/format.ts';
import { formatCount, formatDuration, formatNumber } from './common.ts';

const HEAD = ['id', 'name', 'status', 'device', 'tries', 'steps', 'train loss', 'valid ppl', 'params', 'train time', 'reason'];
const DROP_ORDER = ['tries', 'device', 'train loss', 'params', 'id', 'train time', 'valid ppl'];

function readable(r: RunRow): string[] {
  return [
    r.id.slice(0, 10), r.name, r.status, r.device ?? '-', String(r.attempts),
    `${r.steps ?? '-'}/${r.max_steps ?? '-'}`, formatNumber(r.train_loss), formatNumber(r.valid_ppl),
    formatCount(r.params_total ?? r.params_total_start), formatDuration(r.train_ms), r.reason ?? '',
  ];
}

/** One object per run, raw values (full id, milliseconds, counts), for csv and json. */
function raw(r: RunRow): Record<string, string | number | null> {
  return {
    id: r.id, name: r.name, status: r.status, profile: r.profile, model: r.model, method: r.method, precision: r.precision,
    stage: r.stage, seed: r.seed, device: r.device, executor: r.executor, job_id: r.job_id, attempts: r.attempts, steps: r.steps,
    max_steps: r.max_steps, train_loss: r.train_loss, valid_ppl: r.valid_ppl, test_ppl: r.test_ppl,
    params: r.params_total ?? r.params_total_start, train_ms: r.train_ms, reason: r.reason,
  };
}

function csvField(v: string | number | null): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The heading lines: the sweep asked for and its note, or the notes of every sweep that has one. */
export function sweepLines(sweep: SweepRow | null, all: SweepRow[]): string[] {
  if (sweep) {
    const head = `sweep ${sweep.id}: ${sweep.spec} (profile ${sweep.profile}), ${sweep.status}, started ${sweep.created_at}`;
    return sweep.note ? [head, `note: ${sweep.note}`] : [head];
  }
  return all.filter((s) => s.note).slice(-10).map((s) => `note (sweep ${s.id}, ${s.spec}): ${s.note}`);
}

export function renderRuns(runs: RunRow[], format: Format, width: number | null): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(runs.map(raw), null, 2)}\n`;
    case 'csv': {
      const rows = runs.map(raw);
      const keys = Object.keys(raw({} as RunRow));
      return `${[keys.join(','), ...rows.map((r) => keys.map((k) => csvField(r[k] ?? null)).join(','))].join('\n')}\n`;
    }
    case 'md': {
      const cell = (s: string): string => s.replace(/\|/g, '\\|');
      return `${[`| ${HEAD.join(' | ')} |`, `| ${HEAD.map(() => '---').join(' | ')} |`, ...runs.map((r) => `| ${readable(r).map(cell).join(' | ')} |`)].join('\n')}\n`;
    }
    case 'terminal': {
      const { text, dropped } = fitTable(HEAD, runs.map(readable), { width, dropOrder: DROP_ORDER, wrap: { reason: 40 } });
      const note = droppedNote(dropped, width, '--format md');
      return `${text}\n${note ? `${wrapText(note, width ?? 100)}\n` : ''}`;
    }
  }
}
