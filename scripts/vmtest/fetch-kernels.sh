#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# fetch-kernels.sh [TARGET...]
#
# Downloads stock Debian kernels (no install: apt-get download + dpkg-deb -x) into
# build/vmtest/kernels/<major.minor>/ with
#   vmlinuz, config, release (uname -r), packages (pkg=version, one a line, as used),
#   resolved (what apt resolved last time: unchanged means reuse),
#   modules/<release>/...  (the kernel's module tree, still compressed)
# TARGET is one of (default: all)
#   6.1       Debian 12's kernel                      (system apt sources)
#   6.12      Debian 12's security/backports kernel   (system apt sources, if they carry it)
#   5.10      Debian 11's kernel, signed package      (private apt configuration)
#   unstable  unstable's newest kernel (7.x)          (private apt configuration)
# The private apt configuration lives in build/vmtest/apt/ and names only the Debian mirror URIs
# that the system's own sources already name. A kernel that cannot be had is "skipped".
# Environment: ZT_VM_FLAVOUR (default cloud-amd64; amd64 also works), ZT_VM_REFRESH=1 to
# refresh the private package lists even if they are less than a day old.
# Prints one line per target:  <target> <dir> <status> <release> <packages...>
# (status: fetched | cached | skipped (reason)), then "have: <dirs...>".
set -euo pipefail
# shellcheck source=scripts/vmtest/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FLAVOUR=${ZT_VM_FLAVOUR:-cloud-amd64}
ALL_TARGETS=(5.10 6.1 6.12 unstable)
TARGETS=("$@")
((${#TARGETS[@]})) || TARGETS=("${ALL_TARGETS[@]}")

mkdir -p "$KERNELS_DIR/debs" "$VM_BUILD/apt/syscache/archives/partial"
need_pkgs dpkg-deb:dpkg xz:xz-utils zstd:zstd

PRIV=$VM_BUILD/apt
# Keep apt's binary caches (some images turn them off) in build/vmtest/apt/: every apt-cache
# call would otherwise parse the whole package lists again.
CACHE_OPTS=(-o Dir::Cache::pkgcache=pkgcache.bin -o Dir::Cache::srcpkgcache=srcpkgcache.bin)
SYS_OPTS=(-o "Dir::Cache=$PRIV/syscache" "${CACHE_OPTS[@]}")
PRIV_OPTS=(-o "Dir::Etc::sourcelist=$PRIV/sources.list" -o "Dir::Etc::sourceparts=$PRIV/sources.list.d"
	-o "Dir::State::Lists=$PRIV/lists" -o "Dir::Cache=$PRIV/cache" "${CACHE_OPTS[@]}"
	-o "Dir::Etc::preferences=$PRIV/preferences" -o "Dir::Etc::preferencesparts=$PRIV/preferences.d")
APT_OPTS=()

acache() { apt-cache "${APT_OPTS[@]}" "$@"; }

# Candidate version of a package, empty if apt does not know it.
cand() { acache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: \([^(].*\)$/\1/p' | head -1; }

# meta_dep META VERPREFIX: the linux-image-* package that the newest version of META whose
# version starts with VERPREFIX depends on ("" = newest of all).
meta_dep() {
	acache show "$1" 2>/dev/null | awk -v pre="$2" '
		function out() { if (v != "" && index(v, pre) == 1) print v "\t" d; v = ""; d = "" }
		/^Version: / { v = $2 } /^Depends: / { d = $0 } /^$/ { out() } END { out() }' |
		sort -t$'\t' -k1,1V | tail -1 | cut -f2 | tr ',|' '\n' | sed 's/^ *//; s/^Depends: //; s/ .*//' |
		grep -E '^linux-image-[0-9]' | grep -v -- '-dbg$' | head -1 || true
}

# deps PKG: the Depends of PKG's candidate, names only.
deps() {
	acache show --no-all-versions "$1" 2>/dev/null | sed -n 's/^Depends: //p' | tr ',|' '\n' |
		sed 's/^ *//; s/ .*//' | grep . || true
}

# Mirrors the system's sources name, from apt-cache policy ("URI SUITE" for origin Debian).
sys_mirrors() {
	apt-cache "${SYS_OPTS[@]}" policy 2>/dev/null | awk '
		/^ +[0-9-]+ [a-z+]+:\/\/[^ ]+ [^ ]+ / { uri = $2; split($3, a, "/"); suite = a[1]; next }
		/^ +release / { if (uri != "" && $0 ~ /o=Debian(,|$)/) print uri, suite; uri = "" }' | sort -u
}

SYS_UPDATED=0
sys_update_once() {
	((SYS_UPDATED)) && return 0
	SYS_UPDATED=1
	log "vmtest: apt-get update (system sources)"
	apt-get update -qq >"$VM_BUILD/apt-update.log" 2>&1 || log "vmtest: apt-get update failed (see $VM_BUILD/apt-update.log)"
}

PRIV_READY=""   # "", ok, or a reason it is not
priv_setup() {
	[[ -n $PRIV_READY ]] && return 0
	local m deb_uri="" sec_uri="" keyring="" opt=""
	while read -r uri suite; do
		case $suite in
		*-security) [[ -n $sec_uri ]] || sec_uri=$uri ;;
		*-*) ;;
		*) [[ -n $deb_uri ]] || deb_uri=$uri ;;
		esac
	done < <(sys_mirrors)
	if [[ -z $deb_uri ]]; then
		sys_update_once
		while read -r uri suite; do
			case $suite in *-security) [[ -n $sec_uri ]] || sec_uri=$uri ;; *-*) ;; *) [[ -n $deb_uri ]] || deb_uri=$uri ;; esac
		done < <(sys_mirrors)
	fi
	if [[ -z $deb_uri ]]; then PRIV_READY="the system's apt sources name no Debian mirror"; return 0; fi
	[[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring=/usr/share/keyrings/debian-archive-keyring.gpg
	[[ -n $keyring ]] && opt="[signed-by=$keyring] "
	mkdir -p "$PRIV/sources.list.d" "$PRIV/preferences.d" "$PRIV/lists/partial" "$PRIV/cache/archives/partial"
	m=$(
		echo "# written by scripts/vmtest/fetch-kernels.sh: Debian 11 and unstable, same mirrors as the system's sources"
		echo "deb ${opt}$deb_uri bullseye main"
		[[ -n $sec_uri ]] && echo "deb ${opt}$sec_uri bullseye-security main"
		echo "deb ${opt}$deb_uri sid main"
	)
	local stale=0
	if [[ ! -f $PRIV/sources.list ]] || [[ $(cat "$PRIV/sources.list") != "$m" ]]; then
		printf '%s\n' "$m" >"$PRIV/sources.list"; stale=1
	fi
	compgen -G "$PRIV/lists/*_Packages*" >/dev/null || stale=1
	[[ -n $(find "$PRIV/lists" -maxdepth 1 -name '*InRelease' -mmin -1440 2>/dev/null) ]] || stale=1
	[[ ${ZT_VM_REFRESH:-0} == 1 ]] && stale=1
	if ((stale)); then
		log "vmtest: apt-get update (private configuration: bullseye, sid)"
		if ! apt-get "${PRIV_OPTS[@]}" -o APT::Get::List-Cleanup=0 update -qq >"$PRIV/update.log" 2>&1; then
			log "vmtest: private apt-get update failed (see $PRIV/update.log); using what lists there are"
		fi
	fi
	if compgen -G "$PRIV/lists/*_Packages*" >/dev/null; then PRIV_READY=ok
	else PRIV_READY="private apt lists unavailable (see $PRIV/update.log)"; fi
}

# Resolve a target to the packages to download. Sets PKGS (pkg=version ...), SIGNED_PKG
# (fallback when an unsigned image fails to download) or SKIP (reason).
resolve() {
	local target=$1 img="" main d u v
	PKGS=(); SKIP=""; SIGNED_PKG=""
	case $target in
	6.1 | 6.12)
		APT_OPTS=("${SYS_OPTS[@]}")
		[[ -n $(cand "linux-image-$FLAVOUR") ]] || sys_update_once
		if [[ $target == 6.1 ]]; then
			img=$(meta_dep "linux-image-$FLAVOUR" 6.1.)
		else
			img=$(meta_dep "linux-image-6.12-$FLAVOUR" "")
			[[ -n $img ]] || img=$(meta_dep "linux-image-$FLAVOUR" 6.12.)
		fi ;;
	5.10 | unstable)
		priv_setup
		[[ $PRIV_READY == ok ]] || { SKIP=$PRIV_READY; return 0; }
		APT_OPTS=("${PRIV_OPTS[@]}")
		if [[ $target == 5.10 ]]; then img=$(meta_dep "linux-image-$FLAVOUR" 5.10.)
		else img=$(meta_dep "linux-image-$FLAVOUR" ""); fi ;;
	*) SKIP="unknown target (known: ${ALL_TARGETS[*]})"; return 0 ;;
	esac
	[[ -n $img ]] || { SKIP="apt knows no linux-image-$FLAVOUR for $target"; return 0; }
	main=$img
	# Debian 11's unsigned images are not reliably on the mirrors: signed only there.
	if [[ $target != 5.10 && -n $(cand "$img-unsigned") ]]; then main=$img-unsigned; SIGNED_PKG=$img; fi
	v=$(cand "$main")
	[[ -n $v ]] || { SKIP="no candidate for $main"; return 0; }
	PKGS=("$main=$v")
	# Newer packaging: linux-image-X is a meta package over linux-binary-X + linux-modules-X.
	for d in $(deps "$main"); do
		case $d in
		linux-binary-unsigned-*) PKGS+=("$d=$(cand "$d")") ;;
		linux-binary-*)
			u=linux-binary-unsigned-${d#linux-binary-}
			if [[ -n $(cand "$u") ]]; then PKGS+=("$u=$(cand "$u")"); else PKGS+=("$d=$(cand "$d")"); fi ;;
		linux-modules-* | linux-base-[0-9]*) PKGS+=("$d=$(cand "$d")") ;;
		esac
	done
	return 0
}

deb_file() { local p=${1%%=*} v=${1#*=}; echo "$KERNELS_DIR/debs/${p}_${v//:/%3a}_amd64.deb"; }

download() {
	local pv f
	for pv in "$@"; do
		f=$(deb_file "$pv")
		[[ -s $f ]] && continue
		(cd "$KERNELS_DIR/debs" && apt-get "${APT_OPTS[@]}" -qq download "$pv") >>"$KERNELS_DIR/download.log" 2>&1 || return 1
		[[ -s $f ]] || return 1
	done
}

# extract TARGET PKG=VER...: unpack into a fresh kernels/<major.minor>/; prints that name.
extract() {
	local target=$1; shift
	local tmp pv vmlinuz rel short moddir
	tmp=$(mktemp -d "$KERNELS_DIR/.extract.XXXXXX")
	for pv in "$@"; do dpkg-deb -x "$(deb_file "$pv")" "$tmp/root"; done
	# Classic packages: /boot/vmlinuz-REL, /boot/config-REL, /lib/modules/REL/.
	# Newer (linux-binary-*, linux-modules-*, linux-base-*): /usr/lib/modules/REL/{vmlinuz*,config}.
	vmlinuz=$(find "$tmp/root/boot" -maxdepth 1 -name 'vmlinuz-*' -type f 2>/dev/null | head -1)
	if [[ -n $vmlinuz ]]; then
		rel=${vmlinuz##*/vmlinuz-}
	else
		vmlinuz=$(find "$tmp/root/lib/modules" "$tmp/root/usr/lib/modules" -mindepth 2 -maxdepth 2 \
			-name 'vmlinuz*' -type f 2>/dev/null | head -1)
		[[ -n $vmlinuz ]] || { rm -rf "$tmp"; log "vmtest: no vmlinuz in $*"; return 1; }
		rel=$(basename "$(dirname "$vmlinuz")")
	fi
	short=$(grep -oE '^[0-9]+\.[0-9]+' <<<"$rel")
	mkdir -p "$tmp/k/modules"
	mv "$vmlinuz" "$tmp/k/vmlinuz"
	for f in "$tmp/root/boot/config-$rel" "$tmp/root/lib/modules/$rel/config" "$tmp/root/usr/lib/modules/$rel/config"; do
		[[ -f $f ]] && mv "$f" "$tmp/k/config"
	done
	for f in "$tmp/root/boot/System.map-$rel" "$tmp/root/lib/modules/$rel/System.map" "$tmp/root/usr/lib/modules/$rel/System.map"; do
		[[ -f $f ]] && mv "$f" "$tmp/k/System.map"
	done
	for moddir in "$tmp/root/lib/modules/$rel" "$tmp/root/usr/lib/modules/$rel"; do
		[[ -d $moddir ]] && cp -a "$moddir" "$tmp/k/modules/"
	done
	echo "$rel" >"$tmp/k/release"
	printf '%s\n' "$@" >"$tmp/k/packages"
	rm -rf "${KERNELS_DIR:?}/$short"
	mv "$tmp/k" "$KERNELS_DIR/$short"
	rm -rf "$tmp"
	[[ $target == "$short" ]] || ln -sfn "$short" "$KERNELS_DIR/$target"
	echo "$short"
}

veth_of() {
	local m
	m=$(find "$KERNELS_DIR/$1/modules" -name 'veth.ko*' 2>/dev/null | head -1)
	if [[ -n $m ]]; then echo "veth=${m##*/}"; else echo "veth=none"; fi
}

have=()
for t in "${TARGETS[@]}"; do
	resolve "$t"
	if [[ -n $SKIP ]]; then
		if [[ -f $KERNELS_DIR/$t/vmlinuz ]]; then       # offline, but fetched before
			d=$(basename "$(readlink -f "$KERNELS_DIR/$t")")
			echo "$t $d cached $(cat "$KERNELS_DIR/$d/release") $(tr '\n' ' ' <"$KERNELS_DIR/$d/packages")$(veth_of "$d") (not re-resolved: $SKIP)"
			have+=("$d")
		else
			echo "$t - skipped ($SKIP)"
		fi
		continue
	fi
	want=$(printf '%s\n' "${PKGS[@]}")
	dir=""
	if [[ -e $KERNELS_DIR/$t ]]; then dir=$(basename "$(readlink -f "$KERNELS_DIR/$t")"); fi
	if [[ -n $dir && -f $KERNELS_DIR/$dir/vmlinuz && $(cat "$KERNELS_DIR/$dir/resolved" 2>/dev/null) == "$want" ]]; then
		mapfile -t PKGS <"$KERNELS_DIR/$dir/packages"
		status=cached
	else
		if ! download "${PKGS[@]}"; then
			if [[ -n $SIGNED_PKG ]]; then
				log "vmtest: ${PKGS[0]} did not download, trying the signed $SIGNED_PKG"
				PKGS=("$SIGNED_PKG=$(cand "$SIGNED_PKG")")
				for d in $(deps "$SIGNED_PKG"); do
					case $d in linux-binary-* | linux-modules-* | linux-base-[0-9]*) PKGS+=("$d=$(cand "$d")") ;; esac
				done
			fi
			if [[ -z $SIGNED_PKG ]] || ! download "${PKGS[@]}"; then
				echo "$t - skipped (download of ${PKGS[*]} failed, see $KERNELS_DIR/download.log)"
				continue
			fi
		fi
		if ! dir=$(extract "$t" "${PKGS[@]}"); then
			echo "$t - skipped (no kernel image in ${PKGS[*]})"
			continue
		fi
		printf '%s\n' "$want" >"$KERNELS_DIR/$dir/resolved"
		status=fetched
	fi
	echo "$t $dir $status $(cat "$KERNELS_DIR/$dir/release") ${PKGS[*]} $(veth_of "$dir")"
	have+=("$dir")
done
# Drop downloaded packages that no fetched kernel uses any more (ABI bumps).
for f in "$KERNELS_DIR"/debs/*.deb; do
	[[ -e $f ]] || continue
	keep=0
	for d in "$KERNELS_DIR"/*/packages; do
		[[ -f $d ]] || continue
		while read -r pv; do [[ $(deb_file "$pv") == "$f" ]] && keep=1; done <"$d"
	done
	((keep)) || rm -f "$f"
done
echo "have: ${have[*]:-none}"
