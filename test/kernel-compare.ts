// What the fused-kernel tests share (native on wasm, WGSL on webgpu): inputs, and the comparison
// of a fused kernel's outputs with the generic formulation's.
import assert from 'node:assert/strict';
import { gaussian } from './inrank-fixtures.ts';

export function assertClose(got: Float32Array[], want: Float32Array[], tol: number, label: string): void {
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    assert.equal(g.length, want[i]!.length, `${label} output ${i}: length`);
    g.forEach((v, j) => {
      const w = want[i]![j]!;
      assert.ok(Math.abs(v - w) <= tol * (1 + Math.abs(w)), `${label} output ${i}[${j}]: fused ${v}, generic ${w}`);
    });
  });
}

/** n seeded normal values times scale plus shift. */
export const scaled = (n: number, seed: number, scale: number, shift = 0): Float32Array => gaussian(n, seed).map((v) => v * scale + shift);
