// The trainer child speaks this protocol on stdout: one JSON object per line.
// It is part of the contract: the trainer writes it; the scheduler, the store and the report read it.
import type { CodeFacts, RuntimeFacts } from './provenance.ts';

export const EXIT = {
  ok: 0,
  crashed: 1,
  userError: 2,
  diverged: 3,
  interrupted: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type RunStatus = 'done' | 'diverged' | 'interrupted';

export interface ParamCounts {
  /** All trainable parameters as the forward pass uses them (tied head counted once). */
  total: number;
  /** The MLP linears (fc1 + fc2 of every block) alone. */
  mlp: number;
}

/** The WebGPU adapter a run trained on (backend webgpu). */
export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation of Vulkan (lavapipe / llvmpipe, SwiftShader). */
  software: boolean;
  /** The optional adapter features the run's device uses. */
  features: string[];
  /** The adapter offers shader-f16. */
  shaderF16: boolean;
}

/**
 * How fp16 ran: 'emulated' rounds float32 values to half where mixed precision keeps half
 * tensors (host rounding on CPU backends, the same rounding on the device on webgpu);
 * 'native' (half storage in WGSL kernels) is the hook for fused f16 kernels.
 */
export type Fp16Path = 'emulated' | 'native';

export interface StartEvent {
  type: 'start';
  time: string;
  backend: string;
  /** Which matrix-multiply path the backend uses, e.g. 'wasm', 'openblas', 'tensorflow', 'webgpu'. */
  matmul: string;
  /** The WebGPU adapter (webgpu only; absent or null on other backends and in older runs). */
  adapter?: AdapterDescription | null;
  /** fp16 runs: which half-precision path ran (null for fp32). */
  fp16Path?: Fp16Path | null;
  /** What the trainer ran on: versions, Node, OS, CPU (issue 18; absent in older trainers). */
  runtime?: RuntimeFacts | null;
  /** The code facts the harness launched this trainer with (INRANK_CODE_FACTS), if any. */
  code?: CodeFacts | null;
  config: unknown;
  params: ParamCounts;
  /** Training FLOPs per token (forward + backward) at the current ranks. */
  flopsPerToken: number;
  /** Optimizer steps the LR schedule spans, and steps this run will take at most. */
  scheduleSteps: number;
  maxSteps: number;
  stepsPerEpoch: number;
  resumedFromStep: number | null;
  /** Per-layer ranks where the MLP is low-rank (name -> current rank), and each layer's max rank. */
  ranks: Record<string, number> | null;
  maxRanks: Record<string, number> | null;
}

export interface StepEvent {
  type: 'step';
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  /** Milliseconds of training (not evaluation) since the run began, across resumes. */
  trainMs: number;
  /** fp16: the step was skipped because a gradient overflowed; lossScale is the scale after it. */
  skipped?: boolean;
  lossScale?: number;
}

export interface EvalEvent {
  type: 'eval';
  step: number;
  split: 'valid' | 'test';
  loss: number;
  ppl: number;
}

export interface RankEvent {
  type: 'rank';
  step: number;
  /** Forward passes counted by the layer when it decided (in ticks; evaluation ones too with inrank.countEvalPasses). */
  counter: number;
  layer: string;
  currentModes: number;
  maxRank: number;
  explainedRatio: number;
  /** The largest singular values of the active block, at most 20. */
  singularValues: number[];
}

export interface PruneEvent {
  type: 'prune';
  step: number;
  ranks: Record<string, number>;
  params: ParamCounts;
  flopsPerToken: number;
}

export interface CheckpointEvent {
  type: 'checkpoint';
  step: number;
  path: string;
  kind: 'periodic' | 'interrupt' | 'final' | 'pruned';
}

export interface FinalMetrics {
  trainLoss: number | null;
  validLoss: number | null;
  validPpl: number | null;
  testLoss: number | null;
  testPpl: number | null;
  bestValidLoss: number | null;
}

export interface DoneEvent {
  type: 'done';
  status: RunStatus;
  reason: string;
  steps: number;
  metrics: FinalMetrics;
  /** Wall-clock of the whole run including evaluation, and of training steps alone (ms, across resumes). */
  wallMs: number;
  trainMs: number;
  skippedSteps: number;
  params: ParamCounts;
  flopsPerToken: number;
  ranks: Record<string, number> | null;
  /** Checkpoint a later stage can load (the pruned one for stage 1). */
  checkpoint: string | null;
}

/**
 * What the trainer is doing when it is not taking a step (optional: a trainer may never send
 * it). A step event means it is training again. The live progress view shows it.
 */
export interface PhaseEvent {
  type: 'phase';
  phase: 'loading data' | 'evaluating' | 'pruning' | 'saving';
  /** e.g. the split being evaluated. */
  detail?: string;
}

export interface ErrorEvent {
  type: 'error';
  kind: 'user' | 'internal';
  message: string;
  stack?: string;
}

/**
 * Something the user must know about a run that is not an error, one line: a damaged
 * checkpoint set aside and where the run restarted from instead. Stored with the run (npm run show).
 */
export interface NoticeEvent {
  type: 'notice';
  message: string;
}

export type TrainEvent =
  | NoticeEvent
  | StartEvent
  | StepEvent
  | EvalEvent
  | RankEvent
  | PruneEvent
  | CheckpointEvent
  | DoneEvent
  | PhaseEvent
  | ErrorEvent;

export function encodeEvent(event: TrainEvent): string {
  return JSON.stringify(event, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
}

/** Parses one stdout line; returns null for lines that are not protocol events. */
export function decodeEvent(line: string): TrainEvent | null {
  const text = line.trim();
  if (!text.startsWith('{')) return null;
  let value: unknown;
  try {
    value = JSON.parse(text, (_k, v: unknown) =>
      v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v,
    );
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') return null;
  return value as TrainEvent;
}
