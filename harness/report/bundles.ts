// The browser builds of Vega, Vega-Lite and Vega-Embed, read from node_modules so the
// interactive report can carry them inline: the page then draws and animates its charts with
// no network at all (mailed, archived or opened offline, it still works).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Each package's main entry lives in its build/ folder, beside the prebuilt minified bundle. */
const BUNDLES: [pkg: string, file: string][] = [
  ['vega', 'vega.min.js'],
  ['vega-lite', 'vega-lite.min.js'],
  ['vega-embed', 'vega-embed.min.js'],
];

let cached: string | null = null;

/** The three bundles as one script body, safe inside an inline <script> element. */
export function vegaBundles(): string {
  if (cached === null) {
    cached = BUNDLES.map(([pkg, file]) => {
      const dir = dirname(fileURLToPath(import.meta.resolve(pkg)));
      // "</script" inside a script would end the element early; "<\/script" is the same string to JavaScript.
      return readFileSync(join(dir, file), 'utf8').replace(/<\/script/gi, '<\\/script');
    }).join('\n;\n');
  }
  return cached;
}
