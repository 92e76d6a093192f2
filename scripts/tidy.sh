#!/bin/bash
# clang-tidy over the sources with the checked-in .clang-tidy (each disabled
# check is justified there). Any finding fails: warnings are errors.
#
#   scripts/tidy.sh [file.c...]        default: every src/*.c
#
# It needs a compile_commands.json: build-tidy/ is configured (not built) if it
# has none. QREMAP_TIDY_BUILD picks another build directory, QREMAP_TIDY_JOBS
# the number of clang-tidy processes (default: one per CPU), CLANG_TIDY the
# binary.
#
# One clang-tidy process per file, never several files in one: clang-tidy 14's
# static analyzer keeps state from one file to the next, and its va_list
# checker then reports every vsnprintf() after va_start() in the second and
# later files as using an uninitialised va_list (false positives that vanish
# when each file is checked alone).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${QREMAP_TIDY_BUILD:-$top/build-tidy}
jobs=${QREMAP_TIDY_JOBS:-$(nproc)}
tidy=${CLANG_TIDY:-clang-tidy}

if ! command -v "$tidy" >/dev/null 2>&1; then
	echo "tidy.sh: $tidy not found (Debian: apt-get install clang-tidy)" >&2
	exit 2
fi
if [ ! -f "$build/compile_commands.json" ]; then
	cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DQREMAP_TESTS=OFF >/dev/null
fi

if [ $# -gt 0 ]; then
	files=("$@")
else
	files=("$top"/src/*.c)
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

# Each file's diagnostics go to their own log, so parallel runs don't
# interleave; a non-zero exit (findings, or clang-tidy itself failing) leaves
# a .rc file. -Wno-unknown-warning-option: the compile commands are gcc's, and
# clang must not turn a gcc-only -W flag into a finding.
# shellcheck disable=SC2016 # $1... are sh -c's own arguments, expanded there
printf '%s\0' "${files[@]}" | xargs -0 -n1 -P"$jobs" sh -c '
	log="$1/$(printf "%s" "$5" | tr "/" "_")"
	"$2" -p "$3" --config-file="$4" --quiet --warnings-as-errors="*" \
		--extra-arg=-Wno-unknown-warning-option "$5" >"$log.out" 2>"$log.err" ||
		echo "$?" >"$log.rc"
' sh "$logs" "$tidy" "$build" "$top/.clang-tidy"

findings=0
failed=0
for f in "${files[@]}"; do
	log="$logs/$(printf '%s' "$f" | tr '/' '_')"
	[ -f "$log.rc" ] || continue
	failed=$((failed + 1))
	n=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: (warning|error): ' "$log.out" || true)
	findings=$((findings + n))
	cat "$log.out"
	# clang-tidy's own errors (bad config, crash) go to stderr; its
	# "N warnings generated." lines are noise
	grep -vE '^[0-9]+ warnings? (and [0-9]+ errors? )?generated\.$' "$log.err" >&2 || true
done

version=$("$tidy" --version | sed -n 's/.*LLVM version \([0-9.]*\).*/\1/p')
if [ "$failed" -gt 0 ]; then
	echo "tidy.sh: FAILED: $findings finding(s) in $failed of ${#files[@]} files" \
		"(clang-tidy $version)" >&2
	exit 1
fi
echo "tidy.sh: ${#files[@]} files clean (clang-tidy $version, .clang-tidy)"
