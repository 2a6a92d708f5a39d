#!/usr/bin/env bash
# Installs the Debian packages CaloVQ builds against, if any is missing. Sourced by the other scripts.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
pkgs=(libhdf5-dev zlib1g-dev libdeflate-dev libopenblas-dev libncursesw5-dev pkg-config "$@")
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing: ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "CaloVQ needs these Debian packages: ${missing[*]}" >&2
    echo "run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH
  elif [ -x /opt/swift/bin/swift ]; then export PATH=/opt/swift/bin:$PATH
  else echo "Swift 6.x is needed (swift not on PATH; see https://swift.org/install)" >&2; exit 1; fi
fi
