#!/bin/bash
# resolve-modules.sh MODDIR MODULE...
#
# Orders kernel modules for loading with insmod, using MODDIR/modules.dep
# (MODDIR is a /lib/modules/<version> directory) and MODDIR/modules.builtin.
# Every requested module is pulled in together with everything it depends on;
# each module is printed after all of its dependencies (depth-first post-order
# over the graph that modules.dep describes, so the order of names on a
# modules.dep line does not matter), once.
#
# Output, one line per module:  NAME RELPATH     (RELPATH relative to MODDIR)
#                          or:  NAME builtin     (requested, built into the kernel)
# NAME is the canonical module name ('-' replaced by '_', no .ko suffix).
# Exits 1 if a requested module is neither a module nor built in, if a
# dependency has no modules.dep entry, or on a dependency cycle.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1/modules.dep" ]; then
	echo "usage: $0 MODDIR MODULE...   (MODDIR must contain modules.dep)" >&2
	exit 2
fi
moddir=$1
shift

# kernel/drivers/usb/host/xhci-pci.ko.xz -> xhci_pci, in $REPLY (no subshell:
# modules.dep has thousands of lines)
modname() {
	REPLY=${1##*/}
	REPLY=${REPLY%%.ko*}
	REPLY=${REPLY//-/_}
}

declare -A path=() deps=() state=() builtin=()

while IFS= read -r line; do
	[ -n "$line" ] || continue
	file=${line%%:*}
	rest=${line#*:}
	modname "$file"
	name=$REPLY
	path[$name]=$file
	d=""
	for dep in $rest; do
		modname "$dep"
		d+=" $REPLY"
	done
	deps[$name]=$d
done < "$moddir/modules.dep"

if [ -f "$moddir/modules.builtin" ]; then
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		modname "$line"
		builtin[$REPLY]=1
	done < "$moddir/modules.builtin"
fi

order=()
visit() {
	local m=$1 d
	case "${state[$m]:-}" in
	done) return 0 ;;
	active) echo "resolve-modules: dependency cycle through $m" >&2; exit 1 ;;
	esac
	if [ -z "${path[$m]:-}" ]; then
		echo "resolve-modules: $m has no entry in modules.dep" >&2
		exit 1
	fi
	state[$m]=active
	for d in ${deps[$m]}; do
		visit "$d"
	done
	state[$m]=done
	order+=("$m")
}

for req in "$@"; do
	modname "$req"
	m=$REPLY
	if [ -n "${path[$m]:-}" ]; then
		visit "$m"
	elif [ -n "${builtin[$m]:-}" ]; then
		if [ "${state[$m]:-}" != done ]; then
			state[$m]=done
			order+=("$m")
		fi
	else
		echo "resolve-modules: $req is neither a module in modules.dep nor built in" >&2
		exit 1
	fi
done

for m in "${order[@]}"; do
	if [ -n "${path[$m]:-}" ]; then
		printf '%s %s\n' "$m" "${path[$m]}"
	else
		printf '%s builtin\n' "$m"
	fi
done
