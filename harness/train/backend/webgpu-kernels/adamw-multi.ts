// The multi-tensor AdamW shader: one dispatch updates up to `count` parameters, their first and
// second moments in place (read_write storage bindings), each from its gradient, with the
// arithmetic of harness/train/optim/adamw.ts (the same order of operations as adamw.ts's three
// WGSL kernels). WGSL cannot index bindings dynamically, so the shader is generated for each
// count (one pipeline per count, cached per device), with 4 storage bindings per tensor:
// parameter, m, v (read_write) and gradient (read). The uniform table holds the step's shared
// scalars, then each tensor's element count and decay factor (1 - lr wd, or 1: decay differs per
// tensor). The grid is sized by the largest tensor of the dispatch; each invocation strides over
// every tensor of the group, so tensors of any sizes share one dispatch.
import type { AdamWScalars } from '../adamw-scalars.ts';
import { WORKGROUP } from '../webgpu-multi-dispatch.ts';

/** Shared scalars before the per-tensor entries: beta1, beta2, gm, eps, bc2Sqrt, lr / bc1. */
const SHARED = 6;

/** The WGSL of one dispatch over `count` tensors. */
export function multiAdamWSource(count: number): string {
  const fields = ['beta1', 'beta2', 'gm', 'eps', 'bc2Sqrt', 'lrc'].map((f) => `${f} : f32,`);
  for (let i = 0; i < count; i++) fields.push(`n${i} : u32,`, `decay${i} : f32,`);
  for (let i = SHARED + 2 * count; i % 4 !== 0; i++) fields.push(`pad${i} : u32,`);
  const bindings: string[] = [];
  const loops: string[] = [];
  for (let i = 0; i < count; i++) {
    const b = 1 + 4 * i;
    bindings.push(`@group(0) @binding(${b}) var<storage, read_write> p${i} : array<f32>;`,
      `@group(0) @binding(${b + 1}) var<storage, read_write> m${i} : array<f32>;`,
      `@group(0) @binding(${b + 2}) var<storage, read_write> v${i} : array<f32>;`,
      `@group(0) @binding(${b + 3}) var<storage, read> g${i} : array<f32>;`);
    loops.push(`for (var i = gid.x; i < u.n${i}; i = i + stride) {
      let r = adam(p${i}[i], m${i}[i], v${i}[i], g${i}[i], u.decay${i});
      m${i}[i] = r.y; v${i}[i] = r.z; p${i}[i] = r.x;
    }`);
  }
  return `struct Table { ${fields.join(' ')} }
@group(0) @binding(0) var<uniform> u : Table;
${bindings.join('\n')}
// new (parameter, m, v): adamw.ts's update, m and v rounded to f32 before the parameter uses them
fn adam(p : f32, m0 : f32, v0 : f32, g0 : f32, decay : f32) -> vec3<f32> {
  let g = g0 * u.gm;
  let m = m0 * u.beta1 + g * (1.0 - u.beta1);
  let v = v0 * u.beta2 + g * g * (1.0 - u.beta2);
  let denom = sqrt(v) / u.bc2Sqrt + u.eps;
  return vec3<f32>(p * decay - (m / denom) * u.lrc, m, v);
}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  let stride = groups.x * ${WORKGROUP}u;
  ${loops.join('\n  ')}
}`;
}

/** The uniform table's words (f32 and u32 in one buffer), padded to 16 bytes. */
export function multiAdamWTable(k: Omit<AdamWScalars, 'decay'>, tensors: Array<{ size: number; decay: number }>): ArrayBuffer {
  const words = Math.ceil((SHARED + 2 * tensors.length) / 4) * 4;
  const buf = new ArrayBuffer(words * 4);
  const f = new Float32Array(buf);
  const n = new Uint32Array(buf);
  f.set([k.beta1, k.beta2, k.gradMultiplier, k.eps, k.bc2Sqrt, k.lr / k.bc1]);
  tensors.forEach((t, i) => {
    n[SHARED + 2 * i] = t.size;
    f[SHARED + 2 * i + 1] = t.decay;
  });
  return buf;
}
