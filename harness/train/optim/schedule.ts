// HF transformers' get_linear_schedule_with_warmup: the multiplier of optimizer step s
// (0-based, the scheduler's count when the step runs) is s / warmup during warmup, then falls
// linearly to 0 at total.
export function linearWarmupDecay(step: number, warmup: number, total: number): number {
  if (step < warmup) return step / Math.max(1, warmup);
  return Math.max(0, (total - step) / Math.max(1, total - warmup));
}
