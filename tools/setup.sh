#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs before dcodr runs: installs missing packages,
# configures (CUDA backend when nvcc and cuDNN are present) and builds into ./build.
# Called by tools/run-tests.sh and tools/run-demo.sh; safe to run again (it only does
# what is missing). Arguments name ninja targets to build (default: everything).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(meson ninja-build pkg-config g++ libeigen3-dev libfmt-dev catch2 libstb-dev ccache)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# CUDA lives outside PATH on these machines; meson finds nvcc through PATH.
if [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi

build_dir="${DCODR_BUILD_DIR:-build}"
if [ ! -f "$build_dir/build.ninja" ]; then
  meson setup "$build_dir" -Dcuda="${DCODR_CUDA:-auto}"
fi
ninja -C "$build_dir" "$@"
