#!/usr/bin/env bash
# The one script to run on a GPU machine (Node 20 and the NVIDIA driver; the repository with its
# node_modules copied over): says which system libraries WebGPU (Dawn over Vulkan) is missing and
# which Debian/Ubuntu packages provide them, then runs the WebGPU bench (the bench shape and
# GPT-2 124M) and `npm run sweep paper-table -- --profile gpu-smoke`, and prints one summary:
# backend, adapter, tokens/s, TFLOP/s and the table. Everything it runs is time-limited so the
# whole check ends within 8 minutes.
#
#   bash scripts/gpu-check.sh                         # on the GPU machine
#   GPU_CHECK_SOFTWARE=1 bash scripts/gpu-check.sh    # without a GPU: Mesa's software Vulkan
#       driver (lavapipe), the bench shape and the demo spec on the smoke profile only (real
#       shapes would take hours there)
#   GPU_CHECK_LIBDIRS="dir ..."                        # where to look for libraries (default: the
#       dynamic linker's cache and the usual multiarch folders)
set -uo pipefail
cd "$(dirname "$0")/.."

SOFTWARE="${GPU_CHECK_SOFTWARE:-0}"
OUT="${GPU_CHECK_OUT:-$(mktemp -d -t inrank-gpu-check-XXXXXX)}"
mkdir -p "$OUT"
missing_pkgs=()
problems=0

say() { printf '%s\n' "$*"; }
want() { # want <what> <package>: record one missing piece and the package that provides it
  say "  missing: $1  ->  install $2"
  missing_pkgs+=("$2")
  problems=$((problems + 1))
}

# Finds a shared library by file name: in GPU_CHECK_LIBDIRS if set, else the linker cache and
# the usual folders. Prints its path.
find_lib() {
  local name="$1" dir
  if [ -n "${GPU_CHECK_LIBDIRS:-}" ]; then
    for dir in $GPU_CHECK_LIBDIRS; do [ -e "$dir/$name" ] && { echo "$dir/$name"; return 0; }; done
    return 1
  fi
  ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF; found = 1; exit } END { exit !found }' && return 0
  for dir in /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /lib/x86_64-linux-gnu /usr/local/lib; do
    [ -e "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

# The Debian/Ubuntu package of each library the NVIDIA Vulkan driver needs (DESIGN.md, "GPU path").
package_of() {
  case "$1" in
    libvulkan.so.1) echo libvulkan1 ;;
    libGLdispatch.so.0) echo libglvnd0 ;;
    libGLX.so.0) echo libglx0 ;;
    libGL.so.1) echo libgl1 ;;
    libEGL.so.1) echo libegl1 ;;
    libOpenGL.so.0) echo libopengl0 ;;
    libGLESv2.so.2) echo libgles2 ;;
    libX11.so.6) echo libx11-6 ;;
    libXext.so.6) echo libxext6 ;;
    libxcb.so.1) echo libxcb1 ;;
    libXau.so.6) echo libxau6 ;;
    libXdmcp.so.6) echo libxdmcp6 ;;
    *) echo "the package that provides $1 (apt-file search $1)" ;;
  esac
}

say "== system libraries for WebGPU (Dawn over Vulkan)"
command -v node >/dev/null || { say "node is not on PATH: install Node 20"; exit 2; }
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || say "  warning: Node $(node -v); Node 20 or later is needed"
[ -d node_modules/@tensorflow/tfjs-backend-webgpu ] || { say "  node_modules is missing here: run npm ci (or copy the repository with its node_modules)"; exit 2; }
[ -d node_modules/webgpu ] || want "the npm package webgpu (Dawn's Node bindings, an optional dependency)" "it with npm ci on a machine where it installs, then copy node_modules"

for lib in libvulkan.so.1 libGLdispatch.so.0 libGLX.so.0 libX11.so.6 libXext.so.6; do
  find_lib "$lib" >/dev/null || want "$lib" "$(package_of "$lib")"
done

if [ "$SOFTWARE" = 1 ]; then
  say "  GPU_CHECK_SOFTWARE=1: the NVIDIA driver is not required; Mesa's lavapipe is used"
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || want "Mesa's software Vulkan driver (lavapipe)" "mesa-vulkan-drivers from bookworm-backports (scripts/install-system-deps.sh)"
else
  icd=$(ls /usr/share/vulkan/icd.d/nvidia_icd*.json /etc/vulkan/icd.d/nvidia_icd*.json 2>/dev/null | head -1)
  [ -n "$icd" ] || want "the NVIDIA Vulkan ICD (nvidia_icd.json)" "the driver's Vulkan part: libnvidia-gl-<driver version> (Ubuntu) or nvidia-vulkan-icd (Debian)"
  glx=$(find_lib libGLX_nvidia.so.0) || { want "libGLX_nvidia.so.0 (the NVIDIA Vulkan driver itself)" "libnvidia-gl-<driver version> (Ubuntu) or libgl1-nvidia-glvnd-glx (Debian)"; glx=""; }
  if [ -n "$glx" ]; then
    # What the driver links and this machine lacks: the "Could not get 'vkCreateInstance'" cause.
    for lib in $(ldd "$glx" 2>/dev/null | awk '/not found/ { print $1 }'); do want "$lib (linked by libGLX_nvidia.so.0)" "$(package_of "$lib")"; done
  fi
  nvidia-smi -L 2>/dev/null | sed 's/^/  /' || say "  nvidia-smi does not answer: is the NVIDIA driver loaded?"
fi
ngpu=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [ "${ngpu:-0}" -gt 1 ] && ! ls /usr/share/vulkan/implicit_layer.d/*device_select*.json >/dev/null 2>&1; then
  want "Mesa's Vulkan device-select layer (pins each run to its own GPU)" "mesa-vulkan-drivers"
fi

if [ "$problems" -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing_pkgs[@]}" | grep -v ' ' | sort -u | tr '\n' ' ')
  say ""
  say "$problems piece(s) missing.${pkgs:+ As root: apt-get install -y $pkgs}"
  say "Then run this script again."
  exit 1
fi
say "  all present"

say ""
say "== npm run sweep -- --devices list"
timeout 30 node --import tsx harness/cli/sweep.ts --devices list 2>&1 | grep -v 'artificially reduced' | tee "$OUT/devices.txt"

# Time limits (s) that add up to 8 minutes on a GPU: devices 30, bench 50 + 80, sweep 300, report 20.
# On the software driver everything is far slower, and no limit is promised there.
if [ "$SOFTWARE" = 1 ]; then
  bench_runs=("--model bench --steps 1")
  bench_limits=(600)
  spec=demo
  profile=smoke
  sweep_limit=900
else
  bench_runs=("--model bench --steps 5" "--model gpt2 --steps 3")
  bench_limits=(50 80)
  spec=paper-table
  profile=gpu-smoke
  sweep_limit=300
fi
for i in "${!bench_runs[@]}"; do
  args="${bench_runs[$i]}"
  say ""
  say "== npm run bench -- --backend webgpu $args --skip-cpu"
  # shellcheck disable=SC2086
  timeout "${bench_limits[$i]}" node --import tsx scripts/bench.ts --backend webgpu $args --skip-cpu 2>&1 | grep -v 'artificially reduced' | tee -a "$OUT/bench.txt"
done

say ""
say "== npm run sweep $spec -- --profile $profile --backend webgpu"
db="$OUT/results.db"
timeout "$sweep_limit" node --import tsx harness/cli/sweep.ts "$spec" --profile "$profile" --backend webgpu --db "$db" --out "$OUT/runs" 2>&1 | grep -v 'artificially reduced' | tail -25
sweep_rc=${PIPESTATUS[0]}
timeout 20 node --import tsx harness/cli/report.ts --db "$db" > "$OUT/table.txt" 2>&1

say ""
say "== summary (files in $OUT)"
say "backend:  webgpu"
say "adapter:  $(grep -m1 -o 'WebGPU adapter: .*' "$OUT/devices.txt" | sed 's/^WebGPU adapter: //')"
grep -E '^\[webgpu\] .*(params|tokens/s)' "$OUT/bench.txt" | sed -E 's/^\[webgpu\] /bench:    /; s/: [0-9]+ params; backend .*/:/'
[ "$sweep_rc" = 0 ] && say "sweep:    $spec on $profile finished" || say "sweep:    $spec on $profile ended with exit code $sweep_rc (124 = out of its $sweep_limit s; the table has the runs that finished)"
cat "$OUT/table.txt"; echo
