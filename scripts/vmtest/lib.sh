# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# shellcheck shell=bash
# Shared helpers for scripts/vmtest/*.sh (sourced, not run).

VMTEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VMTEST_DIR/../.." && pwd)
VM_BUILD=${ZT_VM_BUILD:-$REPO_ROOT/build/vmtest}
# shellcheck disable=SC2034  # used by the scripts that source this
KERNELS_DIR=$VM_BUILD/kernels

log()  { printf '%s\n' "$*" >&2; }
die()  { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# need_pkgs "TEST:package" ...: install, quietly, the packages whose TEST fails. TEST is a
# command name, an absolute path that must exist, or "-" (the package must be installed).
# Run apt-get update once if the install fails on a stale or empty package list.
need_pkgs() {
	local spec cmd pkg missing=()
	for spec in "$@"; do
		cmd=${spec%%:*}; pkg=${spec#*:}
		if [[ $cmd == - ]]; then
			[[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == *" installed" ]] && continue
		elif [[ $cmd == /* ]]; then [[ -e $cmd ]] && continue
		else command -v "$cmd" >/dev/null 2>&1 && continue; fi
		missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	[[ $(id -u) == 0 ]] || die "missing ${missing[*]} and not root: apt-get install ${missing[*]}"
	mkdir -p "$VM_BUILD"
	log "vmtest: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$VM_BUILD/apt-install.log" 2>&1; then
		apt-get update -qq >>"$VM_BUILD/apt-install.log" 2>&1 || true
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$VM_BUILD/apt-install.log" 2>&1 ||
			die "apt-get install ${missing[*]} failed (see $VM_BUILD/apt-install.log)"
	fi
}

# Decompress a kernel module (.ko, .ko.xz, .ko.zst, .ko.gz) into DEST.
decompress_ko() {
	local src=$1 dest=$2
	case $src in
	*.ko.xz)  xz -dc "$src" >"$dest" ;;
	*.ko.zst) zstd -qdc "$src" >"$dest" ;;
	*.ko.gz)  gzip -dc "$src" >"$dest" ;;
	*.ko)     cp "$src" "$dest" ;;
	*) return 1 ;;
	esac
}
