#!/usr/bin/env bash
# Runs ON a lent GPU machine, from the repository root of the carried tree, with the kit that
# scripts/device-kit/build.sh made (.device-kit/): unpacks Node, the bundles and the libraries the
# NVIDIA Vulkan driver needs, points the Vulkan loader at the NVIDIA driver, then collects the
# figures issues 12 and 13 still need, most valuable first, each under its own time limit so that
# a slow part late still leaves the earlier figures (the whole stays under GPU_FIGURES_BUDGET s):
#   a  fp32 gpt2 step, then PyTorch fp32 (TF32 off) on cuda, same run: the >= 0.3x target
#   c  stage-2 InRank vs full rank at gpt2-medium's shape: step-time ratio / FLOP ratio >= 0.9
#   b  fp16 gpt2 step (native half where shader-f16), then PyTorch autocast: the >= 0.5x target
#   d  one gpt2 step kernel by kernel (GPU timestamps): where the time goes
#   e  fused vs materialised LM head, same model, rounds alternating: which default to keep
#   f  the real trainer on the gpu-smoke profile's gpt2 run: a real step, to size the gpu profile
# $OUT gets eight files (what a device call brings back): one log per part, run.txt (driver,
# commit, each part's exit code and seconds) and summary.txt, the one-screen summary printed last.
#   bash scripts/device-kit/gpu-figures.sh
#   GPU_FIGURES_SOFTWARE=1 bash scripts/device-kit/gpu-figures.sh   # here, on Mesa's lavapipe, at
#       tiny shapes: proves the kit (bundles, dawn.node, libraries, output layout), no figures
set -uo pipefail
cd "$(dirname "$0")/../.."
KIT=$(readlink -f "${DEVICE_KIT:-.device-kit}")
SOFTWARE=${GPU_FIGURES_SOFTWARE:-0}
BUDGET=${GPU_FIGURES_BUDGET:-540}
OUT=${OUT:-$(mktemp -d -t gpu-figures-out-XXXXXX)}
WORK=$(mktemp -d -t gpu-figures-XXXXXX)
START=$(date +%s)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT" && OUT=$(readlink -f "$OUT")
RUN="$OUT/run.txt"
[ -f "$KIT/node.xz" ] || { echo "no device kit at $KIT: run bash scripts/device-kit/build.sh here first and carry .device-kit" >&2; exit 2; }

# xz where the image has it, else Python's lzma (the machine has python3 and cannot install xz).
unxz() {
  if command -v xz >/dev/null; then xz -dc "$1"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi
}

# Node, the bundles and the X11 client libraries go into a private folder; the Vulkan loader and
# the GL vendor libraries over / as the device notes say, on the GPU machine only (never here).
unpack() {
  unxz "$KIT/node.xz" > "$WORK/node" && chmod +x "$WORK/node"
  unxz "$KIT/payload.tar.xz" | tar -xf - -C "$WORK"
  # Only what the system lacks: a private copy of a library it has could shadow it for PyTorch too.
  for f in "$KIT"/debs/x11/*.deb; do
    pkg=$(basename "$f"); pkg=${pkg%%_*}
    if [ "$SOFTWARE" = 1 ] || ! dpkg -s "$pkg" >/dev/null 2>&1; then dpkg -x "$f" "$WORK/libs"; fi
  done
  if [ "$SOFTWARE" = 1 ]; then
    for f in "$KIT"/debs/gl/*.deb; do dpkg -x "$f" "$WORK/libs"; done
  elif ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    for f in "$KIT"/debs/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  export LD_LIBRARY_PATH="$WORK/libs/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "commit $(cat "$WORK/app/COMMIT")" >> "$RUN"
}

# The Vulkan driver: lavapipe here; on the GPU machine the NVIDIA ICD under the driver's folder.
pick_driver() {
  local icd
  if [ "$SOFTWARE" = 1 ]; then
    icd=$(ls /usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | head -1)
  else
    icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    [ -f "$icd" ] || icd=$(find /usr/local/nvidia /usr/share/vulkan /etc/vulkan -name 'nvidia_icd*.json' 2>/dev/null | head -1)
    local egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json glx
    [ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
    # The ICD names libGLX_nvidia.so.0 bare: make sure the loader finds it, and log what it lacks
    # (the "Could not get 'vkCreateInstance'" cause when the adapter comes back null).
    glx=$(find /usr/local/nvidia -name 'libGLX_nvidia.so.0' 2>/dev/null | head -1)
    if [ -n "$glx" ]; then
      export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$(dirname "$glx")"
      ldd "$glx" | grep 'not found' | sed 's/^/libGLX_nvidia.so.0 lacks /' >> "$RUN"
    fi
  fi
  [ -n "$icd" ] || { echo "no Vulkan ICD json found (software: mesa-vulkan-drivers; GPU: the driver's nvidia_icd.json)" | tee -a "$RUN"; exit 1; }
  export VK_DRIVER_FILES=$icd VK_ICD_FILENAMES=$icd
  { echo "VK_DRIVER_FILES=$icd"; echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"; command -v nvidia-smi >/dev/null && nvidia-smi -L 2>&1; } | tee -a "$RUN"
}

# part <name> <limit s> <command...>: runs it under timeout (cut to what is left of the budget),
# its log in $OUT/<name>.log, its exit code and seconds in run.txt.
part() {
  local name=$1 limit=$2 left t0 rc
  shift 2
  left=$((BUDGET - ($(date +%s) - START)))
  [ "$limit" -gt "$left" ] && limit=$left
  if [ "$limit" -lt 20 ]; then printf 'part\t%s\tskipped\t0\n' "$name" >> "$RUN"; return; fi
  echo "== $name (limit ${limit} s): $*"
  t0=$(date +%s)
  timeout -k 5 "$limit" "$@" 2>&1 | grep --line-buffered -v 'artificially reduced' > "$OUT/$name.log"
  rc=${PIPESTATUS[0]}
  printf 'part\t%s\t%s\t%s\n' "$name" "$rc" $(($(date +%s) - t0)) >> "$RUN"
  grep -E 'FIGURE|ratio|error' "$OUT/$name.log" | grep -v '^FIGURE' | tail -3
}

unpack
pick_driver
export INRANK_PEER_SCRIPT="$WORK/app/bench-peer.py" PYTHONUNBUFFERED=1
N="$WORK/node"; A="$WORK/app"
if [ "$SOFTWARE" = 1 ]; then
  MODEL=tiny STEPS=2 TRAIN_LIMIT=45; SPEEDUP=(--profile smoke --model gpt2 --layers 1 --context 16 --batch 1 --steps 1 --repeats 1); CFG=small-full.json
else
  MODEL=gpt2 STEPS=3 TRAIN_LIMIT=80; SPEEDUP=(--profile paper --model gpt2-medium --steps 2 --repeats 2); CFG=gpt2-full.json
fi
part a-fp32-peer 110 "$N" "$A/figures.mjs" step --model $MODEL --steps $STEPS --peer
part c-inrank-speedup 150 "$N" "$A/bench-inrank-speedup.mjs" --backend webgpu "${SPEEDUP[@]}"
part b-fp16-peer 90 "$N" "$A/figures.mjs" step --model $MODEL --steps $STEPS --fp16 --peer
part d-profile 60 "$N" "$A/figures.mjs" step --model $MODEL --steps 1 --profile
part e-lm-head 60 "$N" "$A/figures.mjs" step --model $MODEL --steps 2 --lm-head both
# The trainer reads the Brown corpus beside its bundle and writes its run folder under $WORK. Its
# step events come first; the run's final test evaluation (the whole test split) may outlast the
# limit on the software driver, which loses nothing the summary needs.
(cd "$WORK" && part f-train $TRAIN_LIMIT "$N" "$A/train.mjs" "$A/configs/$CFG" --backend webgpu)
echo "total $(($(date +%s) - START)) s" | tee -a "$RUN"
"$N" "$A/summary.mjs" "$OUT" | tee "$OUT/summary.txt"
