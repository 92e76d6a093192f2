#!/bin/bash
# Unpack QEMU 10.0 from Debian bookworm-backports beside the installed QEMU
# (Debian 12's 7.2), so tests exercise both: their tap-queue and usb-net
# behaviour differ (docs/facts.md sections 4-5), and 10.0 is what Incus installs.
# If the installed QEMU is not 7.2 (Incus from backports replaces it), 7.2
# is unpacked from bookworm the same way, so the suite still runs both.
#
#   scripts/fetch-qemu.sh            -> .cache/qemu-10.0/qemu-system-x86_64
#                                       (.cache/qemu-7.2/qemu-system-x86_64)
#
# Nothing is installed system-wide: a private apt configuration, pointed at
# the Debian mirror the machine's own apt sources name (none is built in),
# downloads the .debs (apt-get download), dpkg-deb -x unpacks them under
# .cache, and a wrapper script points the binary at its own firmware (-L) and modules
# (QEMU_MODULE_DIR). Idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cache=$top/.cache
if [ "${1:-}" = 7.2 ]; then
	dest=$cache/qemu-7.2
	apt_dir=$cache/apt-bookworm
	suite=bookworm
	want=7.2
else
	dest=$cache/qemu-10.0
	apt_dir=$cache/apt-bpo
	suite=bookworm-backports
	want=${QREMAP_QEMU10_VERSION:-10.0}
	# the installed QEMU stands in for 7.2 only if it is 7.2
	if ! /usr/bin/qemu-system-x86_64 -version 2>/dev/null | grep -q "version 7\.2"; then
		"$0" 7.2
	fi
fi

if [ -x "$dest/qemu-system-x86_64" ] && "$dest/qemu-system-x86_64" -version 2>/dev/null | grep -q "version $want"; then
	echo "fetch-qemu: $("$dest/qemu-system-x86_64" -version | head -1)"
	exit 0
fi

# The Debian mirror comes from the machine's own apt sources; none is built
# in. Where apt reads them (apt-config: Dir::Etc::SourceList, SourceParts):
list=/etc/apt/sources.list parts=/etc/apt/sources.list.d/
eval "$(apt-config shell list Dir::Etc::SourceList/f parts Dir::Etc::SourceParts/d)"
# find_mirror: the first enabled "deb" entry with component main for
# bookworm, bookworm-updates or bookworm-backports (not bookworm-security:
# another archive), one-line (*.list) and deb822 (*.sources) alike. Prints "URI<TAB>KEYRING", KEYRING
# being its Signed-By if that is one keyring file, else empty.
find_mirror() {
	local f out
	for f in "$list" "$parts"*.list "$parts"*.sources; do
		[ -f "$f" ] || continue
		case $f in
		*.sources) out=$(awk "$deb822" "$f") ;;
		*) out=$(awk "$oneline" "$f") ;;
		esac
		if [ -n "$out" ]; then
			printf '%s\n' "$out"
			return
		fi
	done
}
# "deb [OPTIONS] URI SUITE COMPONENT..."
# shellcheck disable=SC2016 # awk programs: awk expands $i, not the shell
oneline='
{ sub(/#.*/, "") }
$1 != "deb" { next }
{
	opts = ""; i = 2
	if ($2 ~ /^\[/) {
		for (; i <= NF; i++) { opts = opts " " $i; if ($i ~ /\]$/) break }
		i++
	}
	if ($(i + 1) !~ /^bookworm(-updates|-backports)?$/) next
	main = 0
	for (c = i + 2; c <= NF; c++) if ($c == "main") main = 1
	if (!main) next
	key = ""
	if (match(opts, /signed-by=[^ \]]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
	print $i "\t" (key ~ /^\/[^,]*$/ ? key : ""); exit
}'
# deb822 stanzas, blank-line separated; continuation lines (an embedded
# Signed-By key) start with white space
# shellcheck disable=SC2016
deb822='
function flush() {
	if (types ~ /(^| )deb( |$)/ && tolower(enabled) != "no" && uris != "" &&
	    suites ~ /(^| )bookworm(-updates|-backports)?( |$)/ &&
	    components ~ /(^| )main( |$)/) {
		split(uris, u, " ")
		print u[1] "\t" (key ~ /^\/[^ ]*$/ ? key : ""); found = 1; exit
	}
	types = uris = suites = components = enabled = key = ""
}
/^#/ { next }
/^[ \t]*$/ { flush(); next }
/^[ \t]/ { next }
{
	field = tolower(substr($0, 1, index($0, ":") - 1))
	value = substr($0, index($0, ":") + 1)
	gsub(/^[ \t]+|[ \t]+$/, "", value); gsub(/[ \t]+/, " ", value)
	if (field == "types") types = value
	else if (field == "uris") uris = value
	else if (field == "suites") suites = value
	else if (field == "components") components = value
	else if (field == "enabled") enabled = value
	else if (field == "signed-by") key = value
}
END { if (!found) flush() }'
mirror=$(find_mirror)
uri=${mirror%%$'\t'*} key=${mirror#*$'\t'}
if [ -z "$uri" ]; then
	cat >&2 <<MSG
fetch-qemu: no Debian mirror for bookworm in apt's sources ($list,
${parts}*.list, ${parts}*.sources). This script downloads QEMU from the
mirror this machine already uses and has none of its own. Configure one and
run "apt-get update": a line
    deb MIRROR bookworm main
in $list, or a stanza
    Types: deb
    URIs: MIRROR
    Suites: bookworm bookworm-updates
    Components: main
in ${parts}debian.sources (MIRROR: your Debian mirror's URL).
MSG
	exit 1
fi
echo "fetch-qemu: $suite from $uri (apt's sources)"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest"
echo "deb ${key:+[signed-by=$key] }$uri $suite main" > "$apt_dir/sources.list"
# Dir::State::status=/dev/null: what is installed must not count (Incus's
# QEMU 10.0 installed would otherwise be the "candidate" for bookworm's 7.2)
opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
      -o Dir::State::status=/dev/null
      -o "APT::Default-Release=$suite" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" update -qq
ver=$(apt-cache "${opts[@]}" policy qemu-system-x86 | awk '/Candidate:/ {print $2}')
case "$ver" in
*:"$want"[.+]*) ;;
*) echo "fetch-qemu: $suite offers qemu-system-x86 $ver, not $want.x" >&2; exit 1 ;;
esac
rm -rf "$dest/root" "$apt_dir/debs" && mkdir -p "$dest/root" "$apt_dir/debs"
(cd "$apt_dir/debs" && apt-get "${opts[@]}" download qemu-system-x86 qemu-system-data qemu-system-common seabios >/dev/null)
# 7.2 finds its NIC option ROMs (efi-virtio.rom ...) only in ipxe-qemu; a
# suite without the package (backports) has them in qemu-system-data
(cd "$apt_dir/debs" && apt-get "${opts[@]}" download ipxe-qemu >/dev/null 2>&1) || true
for d in "$apt_dir"/debs/*.deb; do
	dpkg-deb -x "$d" "$dest/root"
done

cat > "$dest/qemu-system-x86_64" <<WRAP
#!/bin/sh
# Debian's QEMU $ver, unpacked by scripts/fetch-qemu.sh (not installed).
R='$dest/root'
QEMU_MODULE_DIR="\$R/usr/lib/x86_64-linux-gnu/qemu" exec "\$R/usr/bin/qemu-system-x86_64" -L "\$R/usr/share/qemu" -L "\$R/usr/share/seabios" -L "\$R/usr/lib/ipxe/qemu" "\$@"
WRAP
chmod 0755 "$dest/qemu-system-x86_64"
# QEMU runs as nobody under the fixture (like Incus): keep the tree readable
chmod -R a+rX "$dest"
chmod a+x "$cache" "$top" 2>/dev/null || true
echo "fetch-qemu: $("$dest/qemu-system-x86_64" -version | head -1)"
