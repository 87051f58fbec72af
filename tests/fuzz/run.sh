#!/bin/sh
# run.sh - TAP: every fuzz target for a few seconds (FUZZ_SECONDS, default
# 3), so make check (and scripts/check) build them and find what is cheap
# to find; scripts/fuzz runs them for longer.
cd "${CUSTOS_SRCDIR:-$(dirname "$0")/../..}" || exit 1
if ! command -v clang >/dev/null 2>&1; then
	echo "1..0 # SKIP clang not installed (scripts/install-deps)"
	exit 0
fi
exec scripts/fuzz --tap -t "${FUZZ_SECONDS:-3}"
