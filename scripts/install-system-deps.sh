#!/usr/bin/env bash
# The Debian packages the test suite needs (run as root): Chromium for the HTML report's
# browser test, OpenBLAS for the native matmul path, Slurm (Debian's slurm-wlm: slurmctld,
# slurmd, slurm-client) and munge for the Slurm executor's one-node test cluster.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium libopenblas0-pthread \
  slurmctld slurmd slurm-client munge >/dev/null
echo "system packages: chromium, libopenblas0-pthread, slurm, munge installed"
