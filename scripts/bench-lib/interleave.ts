// The repeats of bench-inrank-speedup.ts, on the CPU and on a device alike: full rank and InRank
// timed alternately (full, InRank, full, ...) so that the machine's load hits both about alike;
// the best repeat of each model, and each repeat's own ratio from its adjacent timings.
export interface Interleaved<T> {
  full: T;
  inrank: T;
  /** Each repeat's full / InRank step-time ratio. */
  ratios: number[];
}

type Timer<T> = () => T | Promise<T>;

/** Best (lowest ms) of `repeats` repeats per model, printing each repeat's times and ratio. */
export async function interleaveRepeats<T>(repeats: number, time: { full: Timer<T>; inrank: Timer<T> }, msOf: (t: T) => number): Promise<Interleaved<T>> {
  let best: { full: T | null; inrank: T | null } = { full: null, inrank: null };
  const ratios: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const f = await time.full();
    const i = await time.inrank();
    const [fm, im] = [msOf(f), msOf(i)];
    ratios.push(fm / im);
    console.log(`repeat ${r + 1}: full rank ${fm.toFixed(1)} ms/step, InRank stage 2 ${im.toFixed(1)} ms/step, ratio ${(fm / im).toFixed(3)}`);
    if (best.full === null || fm < msOf(best.full)) best.full = f;
    if (best.inrank === null || im < msOf(best.inrank)) best.inrank = i;
  }
  return { full: best.full!, inrank: best.inrank!, ratios };
}

/** The repeats' quotients (ratio / FLOP ratio): their median and range, a figure less swayed by one lucky repeat than the best-of. */
export function quotientSpread(ratios: number[], flopRatio: number): string {
  const q = ratios.map((r) => r / flopRatio).sort((a, b) => a - b);
  const mid = q.length % 2 === 1 ? q[(q.length - 1) / 2]! : (q[q.length / 2 - 1]! + q[q.length / 2]!) / 2;
  return `the ${q.length} repeats' quotients: median ${mid.toFixed(3)}, range ${q[0]!.toFixed(3)} to ${q[q.length - 1]!.toFixed(3)}`;
}
