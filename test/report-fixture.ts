// Fills a results database for the report tests through the store's own functions
// (beginSweep, addPlans, markStarted, recordEvent, finishRun), as a sweep would: plans first,
// then each run's trainer events, then its outcome. The figures are chosen so the tests can
// work the expected table out by hand.
import { createHash } from 'node:crypto';
import { openStore, type Store } from '../harness/store/store.ts';
import { setSweepNote } from '../harness/store/sweep-notes.ts';
import { parseRunConfig, type RunConfigInput } from '../harness/contract/config.ts';
import type { RunPlan } from '../harness/spec/plan.ts';
import type { DoneEvent, RunStatus } from '../harness/contract/protocol.ts';

export const LAYERS = ['h.0.mlp.fc1', 'h.0.mlp.fc2', 'h.1.mlp.fc1', 'h.1.mlp.fc2'];
/** Per-token training FLOPs outside the MLP, and per unit of an MLP layer's active width k (6 x (in + out)). */
export const BASE_FLOPS = 1_000_000;
export const FLOPS_PER_K = 6 * (64 + 256);
export const FULL_FLOPS = BASE_FLOPS + LAYERS.length * 6 * 64 * 256;
export const FULL_PARAMS = 500_000;
export const MAX_RANK = 32;
export const INIT_MODES = 2;
export const BUFFER = 8;
export const STAGE1_STEPS = 130;
export const TOTAL_STEPS = 200;

const perLayer = (v: number): Record<string, number> => Object.fromEntries(LAYERS.map((l) => [l, v]));
const flopsAt = (sumK: number): number => BASE_FLOPS + FLOPS_PER_K * sumK;
export const inrankParams = (rank: number): number => FULL_PARAMS - LAYERS.length * 64 * 256 + LAYERS.length * rank * (64 + 256);

type Method = 'full' | 'fixed' | 'inrank';
type Stage = 'single' | 'stage1' | 'stage2';

interface PlanSpec {
  profile?: string;
  model: string;
  method: Method;
  precision: 'fp32' | 'fp16';
  seed: number;
  stage?: Stage;
  er?: number;
  /** InRank's buffer_modes (default BUFFER); given, it is a swept axis of the run. */
  buffer?: number;
  /** Store the buffer in the config only, not among the run's axes (a run reused from a sweep that did not vary it). */
  bufferNotAnAxis?: boolean;
  dependsOn?: RunPlan;
}

export function makePlan(p: PlanSpec): RunPlan {
  const stage = p.stage ?? 'single';
  const er = p.method === 'inrank' ? p.er ?? 0.9 : undefined;
  const buffer = p.method === 'inrank' && p.buffer !== undefined ? `b${p.buffer}` : '';
  const name = [p.model, p.method, p.precision, er !== undefined ? `er${er}` : '', buffer, `s${p.seed}`, stage === 'single' ? '' : stage]
    .filter(Boolean)
    .join('-');
  const input: RunConfigInput = {
    name,
    method: p.method,
    model: { name: p.model, nEmbd: 64, nHead: 2, nLayer: 2, context: 32, vocabSize: 512 },
    inrank: p.method === 'fixed' ? { initModes: 16, bufferModes: 0 } : { initModes: INIT_MODES, bufferModes: p.buffer ?? BUFFER, explainedRatio: er ?? 0.9 },
    train: { seed: p.seed, maxSteps: TOTAL_STEPS },
    precision: { kind: p.precision },
    stage: { kind: stage, stage1Steps: STAGE1_STEPS, from: stage === 'stage2' ? `runs/${p.dependsOn?.name}/pruned.ckpt` : null },
    outDir: `runs/${name}`,
  };
  const axes: RunPlan['axes'] = { model: p.model, method: p.method, precision: p.precision, seed: p.seed };
  if (er !== undefined) axes['inrank.explainedRatio'] = er;
  if (p.method === 'inrank' && p.buffer !== undefined && !p.bufferNotAnAxis) axes['inrank.bufferModes'] = p.buffer;
  if (stage !== 'single') axes['stage'] = stage;
  return {
    id: createHash('sha256').update(`${p.profile ?? 'tiny'}:${name}`).digest('hex').slice(0, 16),
    name,
    config: parseRunConfig(input),
    profile: p.profile ?? 'tiny',
    seed: p.seed,
    axes,
    dependsOn: p.dependsOn?.id ?? null,
    expectedCost: 1,
  };
}

interface Play {
  params: number;
  flops: number;
  ranks?: Record<string, number> | null;
  maxRanks?: Record<string, number> | null;
  /** Steps this run trains: from (exclusive) .. to (inclusive). */
  fromStep?: number;
  toStep: number;
  /** Training clock at the first and the last step. */
  msStart: number;
  msEnd: number;
  /** Validation perplexity at a step (evaluated every 50 steps and at the end). */
  ppl: (step: number) => number;
  /** Where the run ends: a finished run gets a test perplexity. */
  outcome: { status: RunStatus | 'failed' | 'skipped' | 'running'; reason?: string; testPpl?: number };
  /** Stage 1 only: rank determinations (step -> current modes for every layer; a step listed twice holds two), then a prune to the last rank. */
  growth?: [number, number][];
}

/** Plays one run's life into the store: start, step / eval / rank / prune events, done, finishRun. */
export function play(store: Store, plan: RunPlan, p: Play): void {
  if (p.outcome.status === 'skipped') {
    store.finishRun(plan.id, { status: 'skipped', reason: p.outcome.reason ?? 'prerequisite did not finish' });
    return;
  }
  store.markStarted(plan.id, { executor: 'local', jobId: '4242', device: 'cpu:0' });
  const from = p.fromStep ?? 0;
  store.recordEvent(plan.id, {
    type: 'start', time: new Date().toISOString(), backend: 'wasm', matmul: 'openblas', config: plan.config,
    params: { total: p.params, mlp: 0 }, flopsPerToken: p.flops, scheduleSteps: TOTAL_STEPS, maxSteps: TOTAL_STEPS,
    stepsPerEpoch: 50, resumedFromStep: from > 0 ? from : null, ranks: p.ranks ?? null, maxRanks: p.maxRanks ?? null,
  });
  let rank = INIT_MODES;
  for (let step = from + 1; step <= p.toStep; step++) {
    const trainMs = p.msStart + ((p.msEnd - p.msStart) * (step - from - 1)) / Math.max(1, p.toStep - from - 1);
    if (step % 5 === 0 || step === from + 1 || step === p.toStep) {
      store.recordEvent(plan.id, {
        type: 'step', step, epoch: Math.floor(step / 50), loss: Math.log(p.ppl(step)), lr: 6e-4, gradNorm: 1, tokensPerSec: 1000, trainMs,
      });
    }
    if (step % 50 === 0 || step === p.toStep) {
      store.recordEvent(plan.id, { type: 'eval', step, split: 'valid', loss: Math.log(p.ppl(step)), ppl: p.ppl(step) });
    }
    (p.growth ?? []).filter(([at]) => at === step).forEach(([, grown], k) => {
      LAYERS.forEach((layer, i) => {
        rank = grown;
        const sv = Array.from({ length: 20 }, (_, j) => (10 + i) * Math.exp(-j / (3 + step / 40 + k)));
        store.recordEvent(plan.id, {
          type: 'rank', step, counter: step * 4 + k, layer, currentModes: grown, maxRank: MAX_RANK, explainedRatio: 0.9, singularValues: sv,
        });
      });
    });
  }
  if (p.outcome.status === 'running') return;
  if (p.growth) {
    store.recordEvent(plan.id, {
      type: 'prune', step: p.toStep, ranks: perLayer(rank), params: { total: inrankParams(rank), mlp: 0 }, flopsPerToken: flopsAt(4 * rank),
    });
  }
  const finished = p.outcome.status === 'done';
  const done: DoneEvent = {
    type: 'done', status: p.outcome.status === 'failed' ? 'done' : p.outcome.status, reason: p.outcome.reason ?? 'max steps', steps: p.toStep,
    metrics: {
      trainLoss: Math.log(p.ppl(p.toStep)), validLoss: Math.log(p.ppl(p.toStep)), validPpl: p.ppl(p.toStep),
      testLoss: finished && p.outcome.testPpl ? Math.log(p.outcome.testPpl) : null, testPpl: finished ? p.outcome.testPpl ?? null : null,
      bestValidLoss: Math.log(p.ppl(p.toStep)),
    },
    wallMs: p.msEnd * 1.1, trainMs: p.msEnd, skippedSteps: 0,
    params: p.growth ? { total: inrankParams(rank), mlp: 0 } : { total: p.params, mlp: 0 },
    flopsPerToken: p.growth ? flopsAt(4 * rank) : p.flops,
    ranks: p.growth ? perLayer(rank) : p.ranks ?? null, checkpoint: p.growth ? `runs/${plan.name}/pruned.ckpt` : null,
  };
  if (p.outcome.status === 'failed') {
    store.finishRun(plan.id, { status: 'failed', reason: p.outcome.reason ?? 'crashed', error: 'Error: boom\n    at train (main.ts:1:1)' });
  } else {
    store.finishRun(plan.id, { status: p.outcome.status, reason: p.outcome.reason, done });
  }
}

const falling = (start: number, end: number) => (step: number): number => end + (start - end) * Math.exp(-step / 60);

/** The database every report test reads. See the comments for what each case is there to show. */
export function fillReportDb(path: string): { sweepId: number; plans: Record<string, RunPlan> } {
  const store = openStore(path);
  try {
    const P: Record<string, RunPlan> = {};
    const add = (key: string, spec: PlanSpec): RunPlan => (P[key] = makePlan(spec));

    // gpt2 fp32: full, fixed, InRank at ER 0.9, two seeds each; InRank at ER 0.8, stage 2 still running.
    for (const seed of [1, 2]) {
      add(`full-${seed}`, { model: 'gpt2', method: 'full', precision: 'fp32', seed });
      add(`fixed-${seed}`, { model: 'gpt2', method: 'fixed', precision: 'fp32', seed });
      const s1 = add(`inrank-${seed}-s1`, { model: 'gpt2', method: 'inrank', precision: 'fp32', seed, stage: 'stage1' });
      add(`inrank-${seed}-s2`, { model: 'gpt2', method: 'inrank', precision: 'fp32', seed, stage: 'stage2', dependsOn: s1 });
    }
    const er8s1 = add('er08-s1', { model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1, stage: 'stage1', er: 0.8 });
    add('er08-s2', { model: 'gpt2', method: 'inrank', precision: 'fp32', seed: 1, stage: 'stage2', er: 0.8, dependsOn: er8s1 });
    // gpt2-medium: the fp32 full baseline diverged; InRank's stage 1 failed so its stage 2 was skipped;
    // fp16: full rank diverged (as the paper says), InRank finished.
    add('med-full', { model: 'gpt2-medium', method: 'full', precision: 'fp32', seed: 1 });
    add('med-fixed', { model: 'gpt2-medium', method: 'fixed', precision: 'fp32', seed: 1 });
    const mi1 = add('med-inrank-s1', { model: 'gpt2-medium', method: 'inrank', precision: 'fp32', seed: 1, stage: 'stage1' });
    add('med-inrank-s2', { model: 'gpt2-medium', method: 'inrank', precision: 'fp32', seed: 1, stage: 'stage2', dependsOn: mi1 });
    add('med16-full', { model: 'gpt2-medium', method: 'full', precision: 'fp16', seed: 1 });
    const m16 = add('med16-inrank-s1', { model: 'gpt2-medium', method: 'inrank', precision: 'fp16', seed: 1, stage: 'stage1' });
    add('med16-inrank-s2', { model: 'gpt2-medium', method: 'inrank', precision: 'fp16', seed: 1, stage: 'stage2', dependsOn: m16 });
    // gpt2-large: a fixed-rank run with no full-rank run in the sweep (no baseline).
    add('large-fixed', { model: 'gpt2-large', method: 'fixed', precision: 'fp32', seed: 1 });
    // A second profile, so the table has two blocks.
    add('other-full', { profile: 'small', model: 'gpt2', method: 'full', precision: 'fp32', seed: 1 });

    const sweepId = store.beginSweep('paper-table', 'tiny', { filters: [] });
    store.addPlans(sweepId, Object.values(P));

    const full = (ms: number, testPpl: number): Omit<Play, 'outcome'> & { outcome: Play['outcome'] } => ({
      params: FULL_PARAMS, flops: FULL_FLOPS, toStep: TOTAL_STEPS, msStart: ms / TOTAL_STEPS, msEnd: ms,
      ppl: falling(400, testPpl), outcome: { status: 'done', testPpl },
    });
    play(store, P['full-1']!, full(20_000, 30));
    play(store, P['full-2']!, full(22_000, 32));
    const fixedParams = inrankParams(16);
    for (const [seed, ms, ppl] of [[1, 16_000, 31], [2, 16_500, 31.5]] as const) {
      play(store, P[`fixed-${seed}`]!, {
        params: fixedParams, flops: flopsAt(4 * 16), ranks: perLayer(16), maxRanks: perLayer(MAX_RANK), toStep: TOTAL_STEPS,
        msStart: 80, msEnd: ms, ppl: falling(400, ppl), outcome: { status: 'done', testPpl: ppl },
      });
    }
    // InRank: every layer grows from 2 to 12 modes at step 65 of stage 1 (k: 10 -> 20), pruned to 12.
    // Seed 1's stage 2 continues stage 1's training clock; seed 2's restarts it (both conventions).
    for (const [seed, s1Ms, s2Ms, ppl] of [[1, 9_000, 4_000, 30.5], [2, 9_500, 4_500, 31.5]] as const) {
      const growth: [number, number][] = [[65, 12]];
      play(store, P[`inrank-${seed}-s1`]!, {
        params: inrankParams(INIT_MODES + BUFFER), flops: flopsAt(4 * (INIT_MODES + BUFFER)), ranks: perLayer(INIT_MODES),
        maxRanks: perLayer(MAX_RANK), toStep: STAGE1_STEPS, msStart: 70, msEnd: s1Ms, ppl: falling(400, ppl + 5), growth,
        outcome: { status: 'done', reason: 'stage 1 done' },
      });
      const offset = seed === 1 ? s1Ms : 0;
      play(store, P[`inrank-${seed}-s2`]!, {
        params: inrankParams(12), flops: flopsAt(4 * 12), ranks: perLayer(12), maxRanks: perLayer(12),
        fromStep: STAGE1_STEPS, toStep: TOTAL_STEPS, msStart: offset + 55, msEnd: offset + s2Ms, ppl: falling(400, ppl),
        outcome: { status: 'done', testPpl: ppl },
      });
    }
    play(store, P['er08-s1']!, {
      params: inrankParams(10), flops: flopsAt(40), ranks: perLayer(2), maxRanks: perLayer(MAX_RANK), toStep: STAGE1_STEPS,
      msStart: 70, msEnd: 9_000, ppl: falling(400, 36), growth: [[40, 6], [90, 9]], outcome: { status: 'done' },
    });
    play(store, P['er08-s2']!, {
      params: inrankParams(9), flops: flopsAt(36), ranks: perLayer(9), maxRanks: perLayer(9), fromStep: STAGE1_STEPS, toStep: 160,
      msStart: 9_060, msEnd: 11_000, ppl: falling(400, 33), outcome: { status: 'running' },
    });

    play(store, P['med-full']!, {
      params: FULL_PARAMS, flops: FULL_FLOPS, toStep: 90, msStart: 100, msEnd: 9_000, ppl: falling(400, 60),
      outcome: { status: 'diverged', reason: 'loss NaN at step 90' },
    });
    play(store, P['med-fixed']!, {
      params: fixedParams, flops: flopsAt(64), ranks: perLayer(16), maxRanks: perLayer(MAX_RANK), toStep: TOTAL_STEPS,
      msStart: 80, msEnd: 17_000, ppl: falling(400, 29), outcome: { status: 'done', testPpl: 29 },
    });
    play(store, P['med-inrank-s1']!, {
      params: inrankParams(10), flops: flopsAt(40), ranks: perLayer(2), maxRanks: perLayer(MAX_RANK), toStep: 40,
      msStart: 70, msEnd: 2_800, ppl: falling(400, 40), outcome: { status: 'failed', reason: 'crashed 3 times (exit 1)' },
    });
    play(store, P['med-inrank-s2']!, {
      params: 0, flops: 0, toStep: 0, msStart: 0, msEnd: 0, ppl: () => 0,
      outcome: { status: 'skipped', reason: `prerequisite ${P['med-inrank-s1']!.name} failed` },
    });
    play(store, P['med16-full']!, {
      params: FULL_PARAMS, flops: FULL_FLOPS, toStep: 30, msStart: 100, msEnd: 3_000, ppl: falling(400, 100),
      outcome: { status: 'diverged', reason: 'loss scale underflow' },
    });
    play(store, P['med16-inrank-s1']!, {
      params: inrankParams(10), flops: flopsAt(40), ranks: perLayer(2), maxRanks: perLayer(MAX_RANK), toStep: STAGE1_STEPS,
      msStart: 70, msEnd: 8_000, ppl: falling(400, 33), growth: [[30, 4], [60, 8]], outcome: { status: 'done' },
    });
    play(store, P['med16-inrank-s2']!, {
      params: inrankParams(8), flops: flopsAt(32), ranks: perLayer(8), maxRanks: perLayer(8), fromStep: STAGE1_STEPS, toStep: TOTAL_STEPS,
      msStart: 50, msEnd: 3_500, ppl: falling(400, 29.5), outcome: { status: 'done', testPpl: 29.5 },
    });
    play(store, P['large-fixed']!, {
      params: fixedParams, flops: flopsAt(64), ranks: perLayer(16), maxRanks: perLayer(MAX_RANK), toStep: TOTAL_STEPS,
      msStart: 80, msEnd: 15_000, ppl: falling(400, 28), outcome: { status: 'done', testPpl: 28 },
    });
    play(store, P['other-full']!, full(21_000, 29));
    store.finishSweep(sweepId, 'done');
    return { sweepId, plans: P };
  } finally {
    store.close();
  }
}

/**
 * An ablation sweep: InRank at explained ratio 0.8 / 0.9 x buffer 4 / 8 on gpt2 and gpt2-medium,
 * two seeds, with each model's full-rank baseline (reused from another sweep: its axes name no
 * InRank setting). The cell at 0.9 / 8 is reused too, from a sweep that did not vary the buffer,
 * so its stored axes lack the buffer. Perplexity falls with the ratio and the buffer, seeds
 * differ by 0.5 either way (std 0.71); gpt2 er0.8 b4 stage 1 holds two determinations in one step.
 */
export function fillAblationDb(path: string, note: string | null = null): { sweepId: number; plans: Record<string, RunPlan> } {
  const store = openStore(path);
  try {
    const P: Record<string, RunPlan> = {};
    const plays: [RunPlan, Play][] = [];
    const models: [string, number][] = [['gpt2', 30], ['gpt2-medium', 26]];
    for (const [model, base] of models) {
      for (const seed of [1, 2]) {
        const noise = seed === 1 ? -0.5 : 0.5;
        const full = (P[`${model}-full-${seed}`] = makePlan({ model, method: 'full', precision: 'fp32', seed }));
        plays.push([full, {
          params: FULL_PARAMS, flops: FULL_FLOPS, toStep: TOTAL_STEPS, msStart: 100, msEnd: 20_000 + seed * 500,
          ppl: falling(400, base + noise), outcome: { status: 'done', testPpl: base + noise },
        }]);
        for (const er of [0.8, 0.9]) {
          for (const buffer of [4, 8]) {
            const key = `${model}-er${er}-b${buffer}-${seed}`;
            const reused = er === 0.9 && buffer === 8;
            const s1 = (P[`${key}-s1`] = makePlan({ model, method: 'inrank', precision: 'fp32', seed, stage: 'stage1', er, buffer, bufferNotAnAxis: reused }));
            const s2 = (P[`${key}-s2`] = makePlan({ model, method: 'inrank', precision: 'fp32', seed, stage: 'stage2', er, buffer, bufferNotAnAxis: reused, dependsOn: s1 }));
            const ppl = base + 2 + (0.9 - er) * 20 - buffer / 4 + noise;
            const rank = Math.round(er * 10) + buffer / 4;
            const growth: [number, number][] = model === 'gpt2' && er === 0.8 && buffer === 4 ? [[40, rank - 2], [40, rank - 1], [90, rank]] : [[40, rank - 2], [90, rank]];
            plays.push([s1, {
              params: inrankParams(INIT_MODES + buffer), flops: flopsAt(4 * (INIT_MODES + buffer)), ranks: perLayer(INIT_MODES), maxRanks: perLayer(MAX_RANK),
              toStep: STAGE1_STEPS, msStart: 70, msEnd: 8_000 + buffer * 100, ppl: falling(400, ppl + 4), growth, outcome: { status: 'done', reason: 'stage 1 done' },
            }]);
            plays.push([s2, {
              params: inrankParams(rank), flops: flopsAt(4 * rank), ranks: perLayer(rank), maxRanks: perLayer(rank), fromStep: STAGE1_STEPS, toStep: TOTAL_STEPS,
              msStart: 60, msEnd: 4_000 + buffer * 50 + seed * 200, ppl: falling(400, ppl), outcome: { status: 'done', testPpl: ppl },
            }]);
          }
        }
      }
    }
    const sweepId = store.beginSweep('ablation-grid', 'tiny', { filters: [] });
    store.addPlans(sweepId, Object.values(P));
    if (note !== null) setSweepNote(store, sweepId, note);
    for (const [plan, p] of plays) play(store, plan, p);
    store.finishSweep(sweepId, 'done');
    return { sweepId, plans: P };
  } finally {
    store.close();
  }
}
