#!/usr/bin/env bash
# Runs the whole test suite (installs missing Debian packages first when run as root).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh tmux
set +e
# --build-tests builds every target, the calovq executable included: CLITests run the built binary.
swift build --build-tests 2>&1 | grep -vE '^\[[0-9]+/[0-9]+\]'
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] || { echo "build failed" >&2; exit "$rc"; }
swift test --skip-build 2>&1 | grep -vE "' started\.$"
exit "${PIPESTATUS[0]}"
