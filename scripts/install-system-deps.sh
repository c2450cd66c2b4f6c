#!/usr/bin/env bash
# The Debian packages the test suite needs (run as root): Chromium for the HTML report's
# browser test, OpenBLAS for the native matmul path, Slurm (Debian's slurm-wlm: slurmctld,
# slurmd, slurm-client) and munge for the Slurm executor's one-node test cluster, and Mesa's
# software Vulkan driver (lavapipe) with the Vulkan loader, so the WebGPU backend's tests run
# without a GPU. Dawn refuses bookworm's own Mesa 22.3 (it lacks
# shaderUniform*ArrayDynamicIndexing), so Mesa comes from bookworm-backports, added with the
# same mirror as the machine's main Debian source.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

add_backports() {
  local list=/etc/apt/sources.list.d/backports.sources
  [[ -f $list ]] && return 0
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [[ -z $uri ]] && uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  if [[ -z $uri ]]; then
    echo "cannot find the machine's Debian mirror to add bookworm-backports; add it to apt's sources and rerun" >&2
    return 1
  fi
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$uri" >"$list"
}

add_backports
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium libopenblas0-pthread \
  slurmctld slurmd slurm-client munge >/dev/null
apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
echo "system packages: chromium, libopenblas0-pthread, slurm, munge, mesa-vulkan-drivers (backports) installed"
