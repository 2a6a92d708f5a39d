#!/usr/bin/env bash
# Opens the CaloVQ explorer on the bundled sample data: installs missing Debian packages (when run
# as root), builds calovq in release mode, then runs `calovq explore` with any extra arguments, e.g.
#   bash scripts/explore.sh --dataset ds2 --theme inferno
set -euo pipefail
cd "$(dirname "$0")/.."
args=("$@")
set --  # deps.sh takes extra package names from "$@"; give it none
source scripts/deps.sh
swift build -c release --product calovq 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
bin="$(swift build -c release --show-bin-path)/calovq"
if ! ls sample-data/models/*/stage2.safetensors >/dev/null 2>&1; then
  echo "note: sample-data/models/ has no model folders; g replays reference file rows and the codebook" >&2
  echo "      and token screens stay dark (train with \`calovq train stage1/stage2\`, or pass --model DIR)" >&2
fi
if ! ls sample-data/*.h5 >/dev/null 2>&1; then
  echo "note: sample-data/ has no shower files yet; the explorer will say which file each dataset needs." >&2
  echo "      (create them with \`calovq simulate\`, or pass --reference FILE)" >&2
fi
exec "$bin" explore ${args[@]+"${args[@]}"}
