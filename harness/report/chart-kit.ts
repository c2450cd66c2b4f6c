// What every chart of the report shares: thinning long series, a colour legend that toggles
// lines and never cuts a label, and zoom / pan on the axes.

export type Datum = Record<string, string | number | null>;

/** Up to this many colours a legend names each; beyond, the colour scheme gets 20 hues. */
const TEN = 10;

/** At most n items spread evenly over the list, first and last included. */
export function evenlySpaced<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  const picked = new Set<number>();
  for (let i = 0; i < n; i++) picked.add(Math.round((i * (items.length - 1)) / (n - 1)));
  return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
}

/**
 * A colour channel whose legend toggles lines: click a legend entry to keep it (shift-click for
 * several), double-click to show all. Labels are never cut (labelLimit 0 means none).
 */
export function colourBy(field: string, title: string, distinct: number, sort?: string[]): Record<string, unknown> {
  return {
    field,
    type: 'nominal',
    title,
    ...(sort ? { sort } : {}),
    scale: { scheme: distinct > TEN ? 'category20' : 'tableau10' },
    legend: { labelLimit: 0, symbolLimit: 0, orient: 'right' },
  };
}

/** The parameters every interactive chart gets: a legend that toggles `field`, and zoom / pan on the axes. */
export function interaction(field: string): { params: unknown[]; opacity: Record<string, unknown> } {
  return {
    params: [
      { name: 'pick', select: { type: 'point', fields: [field] }, bind: 'legend' },
      { name: 'zoom', select: 'interval', bind: 'scales' },
    ],
    opacity: { condition: { param: 'pick', value: 1, empty: true }, value: 0.08 },
  };
}


/** Distinct values in natural order (bufferModes=2 before bufferModes=12), for a legend's order. */
export function naturalOrder(values: unknown[]): string[] {
  return [...new Set(values.map(String))].sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}
