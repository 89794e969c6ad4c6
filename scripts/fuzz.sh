#!/usr/bin/env bash
# Runs every native Go fuzz target of the module in turn, each for
# FUZZTIME (default 10m), and prints the executions each one reached.
# Targets are discovered, not listed: packages whose tests declare a
# `func Fuzz…`, then `go test -list '^Fuzz'` in each, so targets added
# anywhere are picked up. A target that finds a failure makes the run fail
# (after the others ran); go leaves the input under the package's
# testdata/fuzz/FuzzX/ to commit as a regression seed once fixed.
# Minimising an interesting input is capped at 5 s (go's default is a
# minute, which a short FUZZTIME would spend on one large seed).
# Usage: scripts/fuzz.sh [packages…]   (default: every package but node_modules)
set -uo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10m}"

[ $# -gt 0 ] || set -- ./...
mapfile -t pkgs < <("$GO" list -f '{{.ImportPath}} {{.Dir}}' "$@" | grep -v /node_modules/)
[ ${#pkgs[@]} -gt 0 ] || exit 1

results=()
failed=0
for line in "${pkgs[@]}"; do
	pkg=${line%% *} dir=${line#* }
	# Only compile the tests of packages that can have a fuzz target.
	grep -qs '^func Fuzz' "$dir"/*_test.go || continue
	mapfile -t targets < <("$GO" test -list '^Fuzz' "$pkg" | grep '^Fuzz')
	for target in "${targets[@]}"; do
		echo "== $target ($pkg), $FUZZTIME"
		log=$(mktemp)
		"$GO" test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "$pkg" >"$log" 2>&1
		rc=$?
		execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
		if [ $rc -ne 0 ]; then
			cat "$log"
			failed=1
			results+=("FAIL $target ($pkg): ${execs:-?} execs")
		else
			tail -n 3 "$log"
			results+=("ok   $target ($pkg): ${execs:-?} execs")
		fi
		rm -f "$log"
	done
done
echo "== fuzz summary (fuzztime $FUZZTIME)"
if [ ${#results[@]} -eq 0 ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
printf '%s\n' "${results[@]}"
exit $failed
