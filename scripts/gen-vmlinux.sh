#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# Regenerate vmlinux/vmlinux.h from a stated Debian kernel, not the build
# host's kernel, so every machine builds the BPF side against the same types.
#
#   scripts/gen-vmlinux.sh [PACKAGE]     (or: make vmlinux)
#
# PACKAGE is a Debian kernel image package, e.g.
# linux-image-6.12.117+deb12-cloud-amd64-unsigned. Without it, the newest
# linux-image-6.12*-cloud-amd64-unsigned apt can find is used, then the newest
# linux-image-6.12*-amd64-unsigned, then the newest 6.1 cloud one.
#
# Steps: apt-get download the package, dpkg-deb -x it, pull the uncompressed
# ELF vmlinux out of boot/vmlinuz-* (as the kernel's scripts/extract-vmlinux
# does), check it carries .BTF, and dump it with bpftool as C.
#
# Environment: OUT (default vmlinux/vmlinux.h in the repository).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-$ROOT/vmlinux/vmlinux.h}

log() { printf 'gen-vmlinux: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo: cannot apt-get"
	SUDO=(sudo)
fi

APT_UPDATED=0
apt_update() {
	[ "$APT_UPDATED" -eq 1 ] && return 0
	log "apt-get update"
	"${SUDO[@]}" apt-get update -qq >/dev/null
	APT_UPDATED=1
}

# need CMD PACKAGE: install PACKAGE quietly unless CMD is already there.
need() {
	local cmd=$1 pkg=$2
	command -v "$cmd" >/dev/null 2>&1 && return 0
	# bpftool lives in /usr/sbin, which a non-root PATH may lack.
	[ -x "/usr/sbin/$cmd" ] && return 0
	apt_update
	log "installing $pkg"
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
	command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] ||
		die "$pkg installed but $cmd still missing"
}

tool() { command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"; }

need apt-get apt
need dpkg-deb dpkg
need file file
need readelf binutils
need xz xz-utils
need zstd zstd
need bpftool bpftool

# Newest package whose name matches the regex $1, leaving out the other
# flavours (-rt-, -cloud-) unless asked for, or nothing.
newest() {
	apt-cache search --names-only "$1" 2>/dev/null | awk '{print $1}' |
		grep -E "$1" | { [ "$2" = cloud ] && cat || grep -Ev -- '-(rt|cloud)-amd64-'; } |
		sort -V | tail -n 1 || true
}

# Lists are empty on a fresh machine: update once before trusting a miss.
if [ -z "$(apt-cache search --names-only '^linux-image-' 2>/dev/null | head -n 1)" ]; then
	apt_update
fi

PKG=${1:-}
if [ -z "$PKG" ]; then
	for attempt in 1 2; do
		for want in '^linux-image-6\.12.*-cloud-amd64-unsigned$ cloud' \
			    '^linux-image-6\.12.*-amd64-unsigned$ generic' \
			    '^linux-image-6\.1\..*-cloud-amd64-unsigned$ cloud'; do
			PKG=$(newest "${want% *}" "${want#* }")
			[ -n "$PKG" ] && break
		done
		[ -n "$PKG" ] && break
		if [ "$attempt" -eq 1 ]; then apt_update; fi
	done
	[ -n "$PKG" ] || die "no 6.12 or 6.1 Debian amd64 kernel image found by apt"
else
	if ! apt-cache show "$PKG" >/dev/null 2>&1; then
		apt_update
		apt-cache show "$PKG" >/dev/null 2>&1 || die "apt knows no package $PKG"
	fi
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/gen-vmlinux.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# apt-get download as root drops to _apt for the fetch; let it write here.
chmod 755 "$TMP"
mkdir "$TMP/deb" "$TMP/x"
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then
	chown _apt "$TMP/deb"
fi

log "downloading $PKG"
(cd "$TMP/deb" && apt-get download -qq "$PKG" >/dev/null)
DEB=$(find "$TMP/deb" -maxdepth 1 -name '*.deb' | head -n 1)
[ -n "$DEB" ] || die "apt-get download left no .deb for $PKG"
PKG_NAME=$(dpkg-deb -f "$DEB" Package)
PKG_VER=$(dpkg-deb -f "$DEB" Version)
PKG_SOURCE=$(dpkg-deb -f "$DEB" Source || true)

dpkg-deb -x "$DEB" "$TMP/x"
IMG=$(find "$TMP/x/boot" -maxdepth 1 -name 'vmlinuz-*' | head -n 1)
[ -n "$IMG" ] || die "$PKG has no boot/vmlinuz-*"
log "image $(basename "$IMG") from $PKG_NAME $PKG_VER"

VMLINUX=$TMP/vmlinux

# is_btf_elf FILE: an ELF with a .BTF section. (No grep -q on a pipe: under
# pipefail its early exit turns the writer's SIGPIPE into a failure.)
is_btf_elf() {
	[ -s "$1" ] || return 1
	case "$(file -b "$1")" in ELF*) ;; *) return 1 ;; esac
	readelf -S -W "$1" 2>/dev/null | grep '[[:space:]]\.BTF[[:space:]]' >/dev/null
}

# try_decompress HEXMAGIC CMD PACKAGE: for each offset of the magic in the
# bzImage, decompress from there and keep the first result that is an ELF
# with BTF. Decompressors complain about the bytes after the payload; their
# exit status says nothing useful, the output is what gets checked.
try_decompress() {
	local magic=$1 cmd=$2 pkg=$3 pattern pos
	pattern=$(printf '%s' "$magic" | sed 's/../\\x&/g')
	# Read offsets first: the pipeline must not hold the image while we work.
	local offsets
	offsets=$(LC_ALL=C grep -obUaP "$pattern" "$IMG" 2>/dev/null | cut -d: -f1 || true)
	[ -n "$offsets" ] || return 1
	need "${cmd%% *}" "$pkg"
	for pos in $offsets; do
		tail -c "+$((pos + 1))" "$IMG" | $cmd >"$VMLINUX" 2>/dev/null || true
		if is_btf_elf "$VMLINUX"; then
			log "found ${cmd%% *} payload at offset $pos"
			return 0
		fi
	done
	rm -f "$VMLINUX"
	return 1
}

if is_btf_elf "$IMG"; then
	cp "$IMG" "$VMLINUX"
else
	try_decompress 1f8b08 'gzip -dc' gzip ||
	try_decompress fd377a585a00 'xz -dc' xz-utils ||
	try_decompress 28b52ffd 'zstd -dcq' zstd ||
	try_decompress 02214c18 'lz4 -dc' lz4 ||
	try_decompress 425a68 'bzip2 -dc' bzip2 ||
	try_decompress 5d000000 'xz -dc --format=lzma' xz-utils ||
	try_decompress 894c5a 'lzop -dc' lzop ||
	die "no ELF vmlinux with .BTF found inside $(basename "$IMG")"
fi
log "vmlinux: $(file -b "$VMLINUX" | cut -d, -f1-2)"

mkdir -p "$(dirname "$OUT")"
{
	# shellcheck disable=SC2016 # the backquotes are meant literally
	printf '/* Generated from Debian %s %s (source %s, %s) by scripts/gen-vmlinux.sh: bpftool btf dump file vmlinux format c. Regenerate with `make vmlinux` (or scripts/gen-vmlinux.sh %s). Do not edit. */\n' \
		"$PKG_NAME" "$PKG_VER" "${PKG_SOURCE:-linux}" "$(basename "$IMG")" "$PKG_NAME"
	"$(tool bpftool)" btf dump file "$VMLINUX" format c
} >"$TMP/vmlinux.h"
grep -q 'struct task_struct {' "$TMP/vmlinux.h" || die "bpftool output lacks struct task_struct"
mv "$TMP/vmlinux.h" "$OUT"
chmod 644 "$OUT"
log "wrote $OUT ($(wc -c <"$OUT") bytes) from $PKG_NAME $PKG_VER"
