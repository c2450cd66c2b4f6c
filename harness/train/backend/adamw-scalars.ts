// The per-parameter numbers of one AdamW step (harness/train/optim/adamw.ts), as the fused
// kernels take them: the native in-place op and the WGSL kernels alike.
export interface AdamWScalars {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1 - lr wd for decayed parameters, else 1. */
  decay: number;
  bc1: number;
  bc2Sqrt: number;
  gradMultiplier: number;
}
