#!/usr/bin/env bash
# Downloads (never installs) the amd64 Debian packages the NVIDIA Vulkan driver needs on a bare
# GPU machine: the Vulkan loader and the GL vendor libraries that libGLX_nvidia.so.0 links
# (<dir>/gl), and the X11 client libraries it links (<dir>/x11). apt-get download needs no root;
# a private package list keeps this machine's apt state untouched.
#   bash scripts/device-kit/fetch-debs.sh <dir>
set -euo pipefail
dir=$(readlink -f "$1")
mkdir -p "$dir/gl" "$dir/x11"
lists=$(mktemp -d -t device-kit-apt-XXXXXX)
trap 'rm -rf "$lists"' EXIT
mkdir -p "$lists/partial"
o=(-qq -oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists" -oDebug::NoLocking=1)
apt-get "${o[@]}" update
# What DESIGN.md's "GPU path" lists, and the X11 chain below libX11 (libxdmcp6 needs libbsd0, libmd0).
(cd "$dir/gl" && apt-get "${o[@]}" download libvulkan1 libglvnd0 libegl1 libgl1 libglx0 libopengl0 libgles2)
(cd "$dir/x11" && apt-get "${o[@]}" download libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0 libx11-data)
ls "$dir"/gl/*.deb "$dir"/x11/*.deb | sed 's|.*/|  |'
