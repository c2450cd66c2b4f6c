// The multi-tensor gradient accumulation shader: acc += g for up to `count` tensors per dispatch,
// in place (acc read_write, g read), the same single f32 addition as tf.add, so the sums are
// bit for bit the generic accumulation's. The uniform table holds each tensor's element count.
import { WORKGROUP } from '../webgpu-multi-dispatch.ts';

export function accumulateSource(count: number): string {
  const fields: string[] = [];
  for (let i = 0; i < count; i++) fields.push(`n${i} : u32,`);
  for (let i = count; i % 4 !== 0; i++) fields.push(`pad${i} : u32,`);
  const bindings: string[] = [];
  const loops: string[] = [];
  for (let i = 0; i < count; i++) {
    bindings.push(`@group(0) @binding(${1 + 2 * i}) var<storage, read_write> a${i} : array<f32>;`,
      `@group(0) @binding(${2 + 2 * i}) var<storage, read> g${i} : array<f32>;`);
    loops.push(`for (var i = gid.x; i < u.n${i}; i = i + stride) { a${i}[i] = a${i}[i] + g${i}[i]; }`);
  }
  return `struct Table { ${fields.join(' ')} }
@group(0) @binding(0) var<uniform> u : Table;
${bindings.join('\n')}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid : vec3<u32>, @builtin(num_workgroups) groups : vec3<u32>) {
  let stride = groups.x * ${WORKGROUP}u;
  ${loops.join('\n  ')}
}`;
}

/** The element counts, padded to 16 bytes. */
export function accumulateTable(sizes: number[]): ArrayBuffer {
  const words = new Uint32Array(Math.ceil(sizes.length / 4) * 4);
  words.set(sizes);
  return words.buffer;
}
