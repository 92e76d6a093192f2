#!/bin/bash
# The whole test suite, from a clean checkout: installs what is missing
# (Debian packages; QEMU 10.0 unpacked beside Debian's 7.2), builds with
# ASan/UBSan and -Werror, and runs every test against both QEMU versions.
# Run as root: integration tests create network namespaces and taps.
#
#   scripts/test.sh [ctest args...]     e.g. scripts/test.sh -R inspect
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${QREMAP_TEST_BUILD:-$top/build-test}

"$top/scripts/install-deps.sh"
# The real-Incus tests (test_incus_real) need an Incus that can start VMs.
# ../shared/incus-rig/setup.sh makes one on machines like ours (test
# infrastructure only: qremap depends on none of its shims). It installs
# Incus and its QEMU 10.0 from bookworm-backports over Debian's 7.2, so it
# runs before fetch-qemu.sh unpacks the other version. Where it is missing or
# fails, test_incus_real skips and says why; QREMAP_NO_INCUS_RIG=1 skips it.
#
# The rig's first step starts a stopped incusd as it is, without the seccomp
# shim that its later step puts it under; on this kind of machine that
# incusd dies at once (its vsock listener can't bind) and the setup stops
# there. So where the first run fails that way, incusd is started under the
# rig's shim, as the rig's own later step does, and the setup runs again.
rig=$top/../shared/incus-rig/setup.sh
rig_incusd_under_shim() {
	local shim=/var/tmp/incus-rig/incusd-seccomp-shim
	local src
	src=$(dirname "$rig")/incusd-seccomp-shim.c
	command -v incus >/dev/null 2>&1 && [ -x /usr/libexec/incus/incusd ] || return 1
	pgrep -x incusd >/dev/null && return 1 # running: not the failure this mends
	mkdir -p /var/tmp/incus-rig /tmp/incus
	[ -x "$shim" ] || gcc -Wall -O2 "$src" -o "$shim" || return 1
	(cd / && setsid nohup "$shim" -- /usr/libexec/incus/incusd --group root \
		--logfile /tmp/incus/incusd.log >/tmp/incus/incusd.nohup.out 2>&1 </dev/null &)
	incus admin waitready --timeout 60
}
if [ -z "${QREMAP_NO_INCUS_RIG:-}" ] && [ -f "$rig" ]; then
	mkdir -p "$build"
	if timeout 900 env NO_VM=1 bash "$rig" >"$build/incus-rig.log" 2>&1 ||
		{ rig_incusd_under_shim >>"$build/incus-rig.log" 2>&1 &&
			echo "test.sh: incus-rig: incusd started under the rig's shim, setup again" &&
			timeout 900 env NO_VM=1 bash "$rig" >>"$build/incus-rig.log" 2>&1; }; then
		echo "test.sh: incus-rig ready: test_incus_real runs against a real Incus"
	else
		echo "test.sh: incus-rig setup failed, test_incus_real will skip (log: $build/incus-rig.log):"
		tail -n 3 "$build/incus-rig.log" || true
	fi
fi
"$top/scripts/fetch-qemu.sh"

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DQREMAP_SANITIZE=ON -DQREMAP_TESTS=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
# The optimised build too: -O2 enables warnings (-Wmaybe-uninitialized,
# -Wformat-truncation) that -O0 never reports, and -Werror makes them fatal.
# Everything, as scripts/demo.sh builds it (tests and bench included).
cmake -S "$top" -B "$build-release" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQREMAP_TESTS=ON >/dev/null
cmake --build "$build-release" -j"$(nproc)"
# ... and what it installs carries no test hooks (tests/README.md)
(cd "$build-release" && ctest -R '^install_layout$' --output-on-failure)
# clang-tidy with the checked-in .clang-tidy: any finding fails (scripts/tidy.sh).
if command -v clang-tidy >/dev/null 2>&1; then
	"$top/scripts/tidy.sh"
else
	echo "test.sh: clang-tidy skipped: clang-tidy not found (apt-get install clang-tidy)"
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
ctest --output-on-failure --timeout 900 "$@"

# A short run of each libFuzzer target (tests/fuzz, docs/fuzzing.md): ~10 s
# each, run in parallel. libFuzzer needs clang; gcc cannot build the fuzzers.
if command -v clang >/dev/null 2>&1; then
	CC=clang cmake -S "$top" -B "$build-fuzz" -DQREMAP_FUZZ=ON -DQREMAP_SANITIZE=ON \
		-DQREMAP_TESTS=OFF >/dev/null
	cmake --build "$build-fuzz" -j"$(nproc)" --target qremap_fuzzers
	cd "$build-fuzz"
	ctest -L fuzz --output-on-failure -j"$(nproc)"
else
	echo "test.sh: fuzzers skipped: clang not found (libFuzzer needs clang)"
fi
