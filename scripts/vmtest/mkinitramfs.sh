#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkinitramfs.sh OUT.cpio.gz KERNELDIR [FILE[:DEST]...]
#
# Builds an initramfs for one kernel fetched by fetch-kernels.sh (KERNELDIR =
# build/vmtest/kernels/<version>) holding
#   - busybox-static with its applets linked (except `ip` and `sh`: see below), the host's dash
#     as /bin/sh and bash as /bin/bash (busybox's sh would run its own `ip` applet whatever PATH),
#   - /usr/sbin/ip from iproute2 (busybox's `ip` applet would shadow it; netns needs the real one),
#   - every FILE at DEST (default /tests/<basename>); a directory is copied whole. ELF files get
#     their `ldd` libraries and the dynamic loader copied too (static binaries need nothing),
#   - the kernel's veth module (and ZT_VM_MODULES="mod ...", with their dependencies),
#     decompressed, loaded in order by /init,
#   - /init (see below).
# /init mounts proc, sysfs, devtmpfs, devpts, /run, /tmp, tracefs (/sys/kernel/tracing),
# debugfs, bpffs (/sys/fs/bpf) and the cgroup layout chosen by the kernel command line:
#   zt_cgroup=v2 (default)  cgroup2 at /sys/fs/cgroup
#   zt_cgroup=v1            tmpfs at /sys/fs/cgroup, v1 hierarchies cpu,cpuacct memory pids
#                           name=systemd under it (cpu and cpuacct as links), no cgroup2
#   zt_cgroup=hybrid        v1 as above plus cgroup2 at /sys/fs/cgroup/unified
# then brings lo up, loads the modules and runs /tests/run-in-vm.sh (if absent: uname -r) in
# /tests, prints "ZT-VM-EXIT <rc>" and powers off. Every zt_NAME=VALUE of the kernel command line
# is exported as ZT_NAME=VALUE; also ZT_CGROUP (layout), ZT_CGROUP2 (cgroup2 mount point or
# empty), ZT_CGROUP_V1_MISSING (v1 controllers this kernel could not mount), ZT_KERNEL_DIR.
set -euo pipefail
# shellcheck source=scripts/vmtest/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 2)) || die "usage: ${0##*/} OUT.cpio.gz KERNELDIR [FILE[:DEST]...]"
OUT=$1 KDIR=$2; shift 2
[[ -f $KDIR/vmlinuz && -f $KDIR/release ]] || die "$KDIR: not a kernel from fetch-kernels.sh"
REL=$(cat "$KDIR/release")
MODDIR=$KDIR/modules/$REL

need_pkgs -:busybox-static cpio:cpio gzip:gzip ldd:libc-bin /usr/sbin/ip:iproute2 \
	modinfo:kmod xz:xz-utils zstd:zstd
BUSYBOX=/bin/busybox                                   # busybox-static's

ROOT=$(mktemp -d "${TMPDIR:-/tmp}/zt-initramfs.XXXXXX")
trap 'rm -rf "$ROOT"' EXIT

mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp,etc,root,tests,mnt,var,lib/modules/"$REL"}
ln -s ../run "$ROOT/var/run"
chmod 1777 "$ROOT/tmp"

# copy_libs FILE: the libraries and loader an ELF file needs, at the same paths.
copy_libs() {
	local lib
	ldd "$1" >/dev/null 2>&1 || return 0          # static, or not ELF
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		[[ -e $ROOT$lib ]] && continue
		mkdir -p "$ROOT$(dirname "$lib")"
		cp -L "$lib" "$ROOT$lib"
	done
}
is_elf() { [[ -f $1 && $(head -c 4 "$1" 2>/dev/null | tr -d '\0') == $'\x7fELF' ]]; }

# put SRC DEST: copy into the image, replacing a busybox applet link if one is there.
put() {
	local src=$1 dest=$2 f
	[[ $dest == /* ]] || die "$dest: destination must be absolute"
	mkdir -p "$ROOT$(dirname "$dest")"
	rm -rf "${ROOT:?}$dest"
	if [[ -d $src ]]; then
		cp -a "$src" "$ROOT$dest"
		while IFS= read -r -d '' f; do is_elf "$f" && copy_libs "$f"; done < <(find "$ROOT$dest" -type f -print0)
	else
		cp -L --preserve=mode "$src" "$ROOT$dest"
		is_elf "$src" && copy_libs "$src"
	fi
	return 0
}

# busybox and its applets; `ip` is iproute2's. busybox's own sh runs its applets before any
# PATH lookup (so `ip` would always be busybox's, whatever PATH says): /bin/sh is the host's
# dash instead, and bash is there for scripts that ask for it.
cp "$BUSYBOX" "$ROOT/bin/busybox"
while read -r applet; do
	[[ ${applet##*/} == ip ]] && continue
	[[ -e $ROOT/$applet || -L $ROOT/$applet ]] || ln -s /bin/busybox "$ROOT/$applet"
done < <("$BUSYBOX" --list-full)
put /usr/sbin/ip /usr/sbin/ip
[[ -x /bin/dash ]] && put /bin/dash /bin/sh
[[ -x /bin/bash ]] && put /bin/bash /bin/bash

# Modules, dependencies first.
declare -A MOD_DONE=()
MOD_ORDER=()
add_module() {
	local name=$1 src rel dest dep
	[[ -n ${MOD_DONE[$name]:-} ]] && return 0
	MOD_DONE[$name]=1
	src=$(find "$MODDIR" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" -o -name "${name//-/_}.ko*" \) 2>/dev/null | head -1)
	if [[ -z $src ]]; then
		if grep -qE "/(${name}|${name//_/-}|${name//-/_})\.ko$" "$MODDIR/modules.builtin" 2>/dev/null; then return 0; fi
		log "mkinitramfs: warning: kernel $REL has no module $name"
		return 0
	fi
	rel=${src#"$MODDIR"/}; rel=${rel%.xz}; rel=${rel%.zst}; rel=${rel%.gz}
	dest=/lib/modules/$REL/$rel
	mkdir -p "$ROOT$(dirname "$dest")"
	decompress_ko "$src" "$ROOT$dest"
	for dep in $(modinfo -F depends "$ROOT$dest" 2>/dev/null | tr ',' ' '); do add_module "$dep"; done
	MOD_ORDER+=("$dest")
}
for m in veth ${ZT_VM_MODULES:-}; do add_module "$m"; done
printf '%s\n' "${MOD_ORDER[@]}" >"$ROOT/etc/zt-modules"
echo "$REL" >"$ROOT/etc/zt-kernel-release"
echo "root:x:0:0:root:/root:/bin/sh" >"$ROOT/etc/passwd"
echo "root:x:0:" >"$ROOT/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$ROOT/etc/hosts"

for spec in "$@"; do
	src=${spec%%:*}
	if [[ $spec == *:* ]]; then dest=${spec#*:}; else dest=/tests/${src##*/}; fi
	[[ -e $src ]] || die "$src: no such file"
	put "$src" "$dest"
done

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# /init of the ztrace vmtest initramfs (scripts/vmtest/mkinitramfs.sh)
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
warn() { echo "zt-init: warning: $*"; }
mnt() { mkdir -p "$4"; mount -t "$1" -o "$3" "$2" "$4" 2>/dev/null || { warn "mount -t $1 -o $3 $4 failed"; return 1; }; }

mnt proc proc nosuid,nodev,noexec /proc
mnt sysfs sysfs nosuid,nodev,noexec /sys
mnt devtmpfs devtmpfs nosuid,mode=755 /dev
mnt devpts devpts nosuid,noexec,gid=5,mode=620,ptmxmode=666 /dev/pts
mnt tmpfs tmpfs nosuid,nodev /dev/shm
mnt tmpfs tmpfs nosuid,nodev,mode=755 /run
mkdir -p /run/netns
mnt tmpfs tmpfs nosuid,nodev,mode=1777 /tmp
mnt tracefs tracefs nosuid,nodev,noexec /sys/kernel/tracing
mnt debugfs debugfs nosuid,nodev,noexec /sys/kernel/debug
mnt bpf bpf nosuid,nodev,noexec,mode=700 /sys/fs/bpf

# zt_NAME=VALUE on the kernel command line -> ZT_NAME=VALUE
for arg in $(cat /proc/cmdline); do
	case $arg in
	zt_*=*)
		name=$(echo "${arg%%=*}" | tr a-z A-Z)
		export "$name=${arg#*=}" ;;
	esac
done
ZT_CGROUP=${ZT_CGROUP:-v2}
ZT_CGROUP2=
ZT_CGROUP_V1_MISSING=
cg=/sys/fs/cgroup
mount_v1() {
	mnt tmpfs cgroup nosuid,nodev,noexec,mode=755 $cg
	for c in cpu,cpuacct memory pids; do
		mnt cgroup cgroup nosuid,nodev,noexec,$c $cg/$c || { rmdir $cg/$c; ZT_CGROUP_V1_MISSING="$ZT_CGROUP_V1_MISSING $c"; }
	done
	[ -d $cg/cpu,cpuacct ] && ln -s cpu,cpuacct $cg/cpu && ln -s cpu,cpuacct $cg/cpuacct
	mnt cgroup cgroup nosuid,nodev,noexec,none,name=systemd $cg/systemd || ZT_CGROUP_V1_MISSING="$ZT_CGROUP_V1_MISSING name=systemd"
}
case $ZT_CGROUP in
v1) mount_v1 ;;
hybrid) mount_v1; mnt cgroup2 cgroup2 nosuid,nodev,noexec,nsdelegate $cg/unified && ZT_CGROUP2=$cg/unified ;;
*) ZT_CGROUP=v2; mnt cgroup2 cgroup2 nosuid,nodev,noexec,nsdelegate $cg && ZT_CGROUP2=$cg ;;
esac
ZT_CGROUP_V1_MISSING=${ZT_CGROUP_V1_MISSING# }
export ZT_CGROUP ZT_CGROUP2 ZT_CGROUP_V1_MISSING
[ -n "$ZT_CGROUP_V1_MISSING" ] && warn "cgroup v1 hierarchies not available on this kernel: $ZT_CGROUP_V1_MISSING"

hostname zt-vm
ip link set lo up || warn "ip link set lo up failed"
while read -r m; do
	[ -n "$m" ] && { insmod "$m" || warn "insmod $m failed"; }
done </etc/zt-modules

echo "zt-init: kernel $(uname -r), cgroup layout $ZT_CGROUP, up $(cut -d' ' -f1 /proc/uptime)s"
cd /tests
if [ -x /tests/run-in-vm.sh ]; then
	/tests/run-in-vm.sh
	rc=$?
elif [ -f /tests/run-in-vm.sh ]; then
	sh /tests/run-in-vm.sh
	rc=$?
else
	uname -r
	rc=0
fi
sync
echo
echo "ZT-VM-EXIT $rc"
poweroff -f
sleep 5
EOF
chmod 755 "$ROOT/init"

mkdir -p "$(dirname "$OUT")"
(cd "$ROOT" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
