#!/bin/bash
# qremap - tests/package-deb.sh: the Debian package (cmake/Packaging.cmake).
#
#   tests/package-deb.sh SOURCE_DIR VERSION
#
# Configures a fresh build directory the way the README's package route does
# (-DCMAKE_INSTALL_PREFIX=/usr, release flags, no tests), builds the .deb
# ("--target package") and checks it with dpkg-deb only: file list, control
# fields, then the extracted tree (unit, sysusers file, binaries). The
# maintainer scripts are run against stub commands (PATH holds nothing
# else), so they are exercised without touching users, units or /run.
# Nothing is ever installed into this system. lintian runs when installed.
# Exit 77 (skipped) without dpkg-deb or dpkg-shlibdeps.
#
# check() evals its condition, given in single quotes so that it expands
# when run: SC2016 (no expansion in single quotes) and SC2034 (variables
# used only there look unused) are what this style means.
# shellcheck disable=SC2016,SC2034
set -euo pipefail
src=$1 version=$2

for tool in dpkg-deb:dpkg dpkg-shlibdeps:dpkg-dev cpack:cmake; do
	if ! command -v "${tool%:*}" >/dev/null 2>&1; then
		echo "SKIP: ${tool%:*} not found (package ${tool#*:}): cannot build or read a .deb"
		exit 77
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 passed=0
check() {
	if eval "$1"; then
		echo "ok   $2"
		passed=$((passed + 1))
	else
		echo "FAIL $2"
		fail=$((fail + 1))
	fi
}

# Files a correct build never writes to this system: staging must go through
# DESTDIR (CPACK_SET_DESTDIR), or the unit and sysusers file, absolute
# install destinations, would land in the live /usr/lib.
live=(/usr/lib/systemd/system/qremapd.service /usr/lib/sysusers.d/qremap.conf /usr/sbin/qremapd)
live_before=$(ls -d "${live[@]}" 2>/dev/null || true)

# A fresh tree: nothing cached from a build configured for another prefix.
build=$tmp/build
if ! cmake -S "$src" -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DQREMAP_TESTS=OFF >"$tmp/build.log" 2>&1 ||
	! cmake --build "$build" -j"$(nproc)" --target package >>"$tmp/build.log" 2>&1; then
	cat "$tmp/build.log"
	echo "FAIL configure, build and package (log above)"
	exit 1
fi

arch=$(dpkg --print-architecture)
deb=$build/qremap_${version}_${arch}.deb
check '[ -f "$deb" ]' "package built as qremap_${version}_${arch}.deb"
[ -f "$deb" ] || { ls "$build"/*.deb 2>/dev/null; exit 1; }
live_after=$(ls -d "${live[@]}" 2>/dev/null || true)
check '[ "$live_before" = "$live_after" ]' "packaging wrote nothing into this system's /usr"

# --- the file list
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./||; s|/$||' >"$tmp/list"
has() { grep -qx "$1" "$tmp/list"; }
check 'has usr/bin/qremap && has usr/sbin/qremapd' "binaries: /usr/bin/qremap, /usr/sbin/qremapd"
for p in "$src"/profiles/*.yaml; do
	name=$(basename "$p")
	check 'has "usr/share/qremap/profiles/$name"' "profile /usr/share/qremap/profiles/$name"
done
check 'has usr/lib/systemd/system/qremapd.service' "unit /usr/lib/systemd/system/qremapd.service"
check 'has usr/lib/sysusers.d/qremap.conf' "sysusers file /usr/lib/sysusers.d/qremap.conf"
check 'has usr/share/man/man1/qremap.1.gz && has usr/share/man/man8/qremapd.8.gz' \
	"man pages gzipped: qremap.1.gz, qremapd.8.gz"
check '! grep -E "^usr/share/man/.*[^z]$" "$tmp/list" | grep -v "/man[0-9]*$" | grep -q .' \
	"no uncompressed man page"
for f in copyright changelog.gz README.md incus.md; do
	check 'has "usr/share/doc/qremap/$f"' "/usr/share/doc/qremap/$f"
done
check 'has usr/share/qremap/kext/QRemapUSBNet.kext/Contents/Info.plist' "kext kit"
check '! grep -v -e "^usr$" -e "^usr/" -e "^\.$" "$tmp/list" | grep -q .' "everything under /usr"
check '! grep -q "^usr/local" "$tmp/list"' "nothing under /usr/local"

# --- control fields
field() { dpkg-deb -f "$deb" "$1"; }
check '[ "$(field Package)" = qremap ] && [ "$(field Version)" = "$version" ]' \
	"Package qremap, Version $version (the project version)"
depends=$(field Depends)
echo "     Depends: $depends"
for lib in libjansson libyaml libcurl libc6 adduser; do
	check 'grep -q "\(^\|, \)$lib" <<<"$depends"' "Depends on $lib (dpkg-shlibdeps or listed)"
done
check '[ "$(field Recommends)" = incus ]' "Recommends: incus"
check '[ -n "$(field Maintainer)" ] && [ "$(field Section)" = admin ]' "Maintainer and Section"
mkdir "$tmp/control"
dpkg-deb -e "$deb" "$tmp/control"
for s in postinst prerm postrm; do
	check '[ -x "$tmp/control/$s" ] && sh -n "$tmp/control/$s"' "$s: executable, valid sh"
done
if command -v shellcheck >/dev/null 2>&1; then
	check 'shellcheck -s sh "$tmp/control/postinst" "$tmp/control/prerm" "$tmp/control/postrm"' \
		"maintainer scripts shellcheck-clean"
fi

# --- the extracted tree
root=$tmp/root
dpkg-deb -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/qremapd.service
check 'grep -q "^ExecStart=/usr/sbin/qremapd " "$unit"' "unit: ExecStart=/usr/sbin/qremapd"
check '! grep -q "/usr/local" "$unit"' "unit: no /usr/local path"
sysusers=$root/usr/lib/sysusers.d/qremap.conf
# "u NAME ID GECOS HOME [SHELL]": no shell field means nologin
check 'grep -Eq "^u qremapd - \"[^\"]+\" /nonexistent$" "$sysusers"' \
	"sysusers: user and group qremapd, no home, no login shell"
# The file as systemd-sysusers reads it, applied to an empty root of our own
# (--root: the live /etc is never touched), twice: the second run must change
# nothing.
if command -v systemd-sysusers >/dev/null 2>&1; then
	mkdir -p "$tmp/sysroot/etc"
	check 'systemd-sysusers --root="$tmp/sysroot" "$sysusers" >/dev/null 2>&1 &&
		grep -Eq "^qremapd:x:[0-9]+:[0-9]+:qremap daemon:/nonexistent:/usr/sbin/nologin$" \
			"$tmp/sysroot/etc/passwd" && grep -q "^qremapd:x:" "$tmp/sysroot/etc/group" &&
		cp "$tmp/sysroot/etc/passwd" "$tmp/passwd.1" &&
		systemd-sysusers --root="$tmp/sysroot" "$sysusers" >/dev/null 2>&1 &&
		cmp -s "$tmp/passwd.1" "$tmp/sysroot/etc/passwd"' \
		"systemd-sysusers makes user and group qremapd (nologin, /nonexistent), idempotently"
fi
check '"$root/usr/bin/qremap" --version | grep -qF "$version"' "extracted qremap --version runs"
check '"$root/usr/sbin/qremapd" --version | grep -qF "$version"' "extracted qremapd --version runs"
check 'grep -qxF /usr/share/qremap/profiles <(strings "$root/usr/bin/qremap")' \
	"qremap looks for profile names in /usr/share/qremap/profiles"
check '! readelf -S "$root/usr/bin/qremap" "$root/usr/sbin/qremapd" | grep -q "\.symtab\|\.debug_"' \
	"binaries stripped"
# Release binaries carry no test hooks: environment variables that make a
# remap fail or stop on purpose have no place on a production host.
for bin in usr/bin/qremap usr/sbin/qremapd; do
	hooks=$(strings "$root/$bin" | grep -o 'QREMAP_TEST_[A-Z0-9_]*' | sort -u | tr '\n' ' ' || true)
	check '[ -z "$hooks" ]' "/$bin has no test hooks${hooks:+: found ${hooks}(grep -rn QREMAP_TEST_ src/)}"
done

# --- maintainer scripts against stubs: each stub logs its argv. getent
# says "no such user" unless GETENT_RC=0; deb-systemd-helper says the unit
# was never enabled unless DSH_ENABLED=1. PATH holds only the stubs, so
# nothing real runs (rm included).
stubs=$tmp/stubs log=$tmp/calls
mkdir "$stubs"
for c in systemd-sysusers getent addgroup adduser deb-systemd-helper deb-systemd-invoke systemctl rm; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$log" >"$stubs/$c"
	chmod +x "$stubs/$c"
done
echo 'exit "${GETENT_RC:-2}"' >>"$stubs/getent"
cat >>"$stubs/deb-systemd-helper" <<'STUB'
case "$1" in debian-installed|--quiet) [ "${DSH_ENABLED:-0}" = 1 ] ;; esac
STUB
# run SCRIPT [VAR=VALUE...] -- ARGS...
run() {
	local script=$1 vars=()
	shift
	while [ "$1" != -- ]; do vars+=("$1"); shift; done
	shift
	: >"$log"
	env -i PATH="$stubs" "${vars[@]}" /bin/sh "$tmp/control/$script" "$@" >/dev/null
}
called() { grep -qx "$1" "$log"; }
check 'run postinst -- configure && called "systemd-sysusers qremap.conf" && ! grep -q "^add" "$log"' \
	"postinst: systemd-sysusers qremap.conf creates the user"
check 'called "deb-systemd-helper update-state qremapd.service" && ! grep -q " enable" "$log"' \
	"postinst: unit registered, not enabled on a fresh install"
if [ ! -d /run/systemd/system ]; then
	check '! grep -q "^systemctl\|^deb-systemd-invoke" "$log"' "postinst: no systemctl without systemd"
fi
check 'run postinst DSH_ENABLED=1 -- configure 0.0.1 && called "deb-systemd-helper enable qremapd.service"' \
	"postinst upgrade: an admin's enable is kept"
rm "$stubs/systemd-sysusers"
check 'run postinst -- configure && called "addgroup --system --quiet qremapd" &&
	grep -q "^adduser --system --ingroup qremapd .*--home /nonexistent .*qremapd$" "$log"' \
	"postinst without systemd-sysusers: adduser --system, home /nonexistent"
check 'run postinst GETENT_RC=0 -- configure && ! grep -q "^add" "$log"' \
	"postinst: an existing qremapd user is left alone"
check 'run postrm -- purge && called "rm -rf /run/qremap" &&
	called "deb-systemd-helper purge qremapd.service" && ! grep -q "^del\|^userdel" "$log"' \
	"postrm purge: state removed, unit state purged, user kept"
check 'run postrm -- remove && ! grep -q "^rm" "$log"' "postrm remove: state kept"
check 'run prerm -- upgrade 0.0.1 && ! grep -q "stop" "$log"' "prerm upgrade: daemon not stopped"
if [ -d /run/systemd/system ]; then
	check 'run prerm -- remove && called "deb-systemd-invoke stop qremapd.service"' \
		"prerm remove: daemon stopped"
fi

# --- lintian (scripts/install-deps.sh installs it): errors fail, warnings
# and the rest are shown; packaging/deb/lintian-overrides justifies each
# override.
if command -v lintian >/dev/null 2>&1; then
	rc=0
	lintian --fail-on error "$deb" >"$tmp/lintian" 2>&1 || rc=$?
	grep -v "running with root privileges" "$tmp/lintian" | sed 's/^/     lintian: /' || true
	check '[ "$rc" = 0 ]' "lintian: no errors"
else
	echo "note lintian not installed (scripts/install-deps.sh installs it): not run"
fi

echo "$passed passed, $fail failed"
[ "$fail" = 0 ]
