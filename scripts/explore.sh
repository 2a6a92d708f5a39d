#!/usr/bin/env bash
# Opens CaloVQ on the bundled sample data (installs missing Debian packages first when run as root).
# For now this runs `calovq info` on the first bundled sample file; the ncurses explorer replaces it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
set +e
swift build --product calovq 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]' >&2
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || { echo "build failed" >&2; exit "$rc"; }
bin="$(swift build --show-bin-path)/calovq"
sample="$(find sample-data -type f \( -name '*.h5' -o -name '*.hdf5' \) 2>/dev/null | sort | head -n 1)"
if [ -n "$sample" ]; then
  exec "$bin" info "$sample"
fi
echo "No sample shower file is bundled yet; showing the ds1-photon binning instead." >&2
echo "Run '$bin info FILE.h5' on any CaloChallenge file." >&2
exec "$bin" geometry --binning sample-data/geometry/binning_dataset_1_photons.xml
