#!/bin/bash
# Builds the test image: a small Debian bookworm with systemd that boots under qemu and runs the
# PBX from /opt/pbx/slots/a exactly as the appliance would (pbx.service -> pbx-launch -> deno).
#
#   bash os-image/test-image/build.sh [--force]
#
# Output in os-image/build/test-image/: rootfs.img (raw ext4, root=/dev/vda), vmlinuz, initrd.img,
# cmdline (kernel command line) and inputs.sha256. Needs root (mmdebstrap in root mode keeps file
# owners without fakeroot), mmdebstrap and e2fsprogs; no loop mounts.
#
# Two caches, so that changing the app only costs the app layer and mkfs (~20 s, not minutes):
#   build/base/<key>/   the Debian rootfs from mmdebstrap, keyed by the package list and base hooks;
#   build/test-image/inputs.sha256   the hash of everything that goes into the image.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD="$REPO/os-image/build"
OUT="$BUILD/test-image"
BASE="$BUILD/base"
KEYS="$BUILD/keys"
DENO="${DENO:-$REPO/.deno/node_modules/.bin/deno}"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

say() { printf 'build.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap root mode keeps file owners for mkfs.ext4 -d)"
command -v mmdebstrap >/dev/null || die "mmdebstrap not found (apt-get install mmdebstrap)"
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 not found (apt-get install e2fsprogs)"
DENO=$(readlink -f "$DENO")
[ -x "$DENO" ] || die "deno binary not found at $DENO"

SUITE=bookworm
# What boots (systemd, udev, a kernel with an initrd), what the host integration drives
# (iproute2, dbus for hostnamectl/timedatectl, tzdata for time zones) and what the app loads
# through FFI or runs (codec and ALSA libraries, openssl for the box CA).
PACKAGES="systemd systemd-sysv systemd-timesyncd udev dbus iproute2 tzdata kmod
  linux-image-cloud-amd64 initramfs-tools
  libopus0 libspandsp2 libbcg729-0 libspeexdsp1 libasound2 openssl ca-certificates"
PACKAGES=$(echo $PACKAGES | tr ' ' ',')

t0=$(date +%s)

# One build at a time (test runs in parallel call this too); the loser waits, then finds the image
# up to date.
mkdir -p "$BUILD"
exec 9>"$BUILD/.lock"
flock 9

# --- the test update key pair (Ed25519; .pub = base64 of the raw 32-byte key) -----------------
mkdir -p "$KEYS"
if [ ! -f "$KEYS/test-update.pem" ]; then
  say "generating test update key pair in $KEYS"
  openssl genpkey -algorithm ed25519 -out "$KEYS/test-update.pem" 2>/dev/null
  chmod 600 "$KEYS/test-update.pem"
fi
openssl pkey -in "$KEYS/test-update.pem" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 \
  >"$KEYS/test-update.pub"

# --- the app tree that becomes slot a ---------------------------------------------------------
# Files git knows (tracked and untracked, not ignored) minus tests/ and os-image/: the slot tree of
# the brief's layout. appliance/update/make_bundle.ts (helper "update") is the canonical writer;
# this list is the same rule.
app_files() {
  cd "$REPO" && git ls-files -co --exclude-standard -z |
    tr '\0' '\n' | grep -v -e '^tests/' -e '^os-image/' -e '^\.deno/' | while IFS= read -r f; do
      [ -f "$f" ] && printf '%s\n' "$f"
    done | sort
}

# --- input hash ------------------------------------------------------------------------------
BASE_KEY=$(printf '%s\n%s\n%s\n' "$SUITE" "$PACKAGES" "$(sed -n '/^# BASE-BEGIN/,/^# BASE-END/p' "$0")" |
  sha256sum | cut -c1-16)
inputs_hash() {
  {
    echo "base $BASE_KEY"
    sha256sum "$0"
    sha256sum "$DENO" | cut -c1-64
    cat "$KEYS/test-update.pub"
    [ -d "$REPO/appliance/box" ] && (cd "$REPO" && find appliance/box -type f | sort | xargs sha256sum)
    (cd "$REPO" && app_files | tr '\n' '\0' | xargs -0 sha256sum)
  } | sha256sum | cut -c1-64
}
HASH=$(inputs_hash)
if [ "$FORCE" = 0 ] && [ -f "$OUT/inputs.sha256" ] && [ "$(cat "$OUT/inputs.sha256")" = "$HASH" ] &&
  [ -f "$OUT/rootfs.img" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.img" ]; then
  say "up to date ($HASH), nothing to do"
  exit 0
fi

# --- base rootfs (cached) --------------------------------------------------------------------
# BASE-BEGIN (this block is part of the base cache key)
if [ "$FORCE" = 1 ] || [ ! -d "$BASE/$BASE_KEY" ]; then
  say "mmdebstrap $SUITE (packages: $PACKAGES)"
  mkdir -p "$BASE"
  rm -rf "${BASE:?}"/*
  mmdebstrap --variant=minbase --mode=root --format=directory --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d"; printf "MODULES=most\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/pbx"' \
    --customize-hook='chroot "$1" systemctl enable systemd-networkd.service systemd-timesyncd.service' \
    --customize-hook='chroot "$1" passwd -l root' \
    --customize-hook='echo pbx >"$1/etc/hostname"; printf "127.0.0.1 localhost\n127.0.1.1 pbx\n::1 localhost\n" >"$1/etc/hosts"' \
    --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
    --customize-hook='echo uninitialized >"$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$BASE/$BASE_KEY.tmp"
  mv "$BASE/$BASE_KEY.tmp" "$BASE/$BASE_KEY"
fi
# BASE-END
t_base=$(date +%s)

# --- assemble the image tree -----------------------------------------------------------------
ROOT="$BUILD/rootfs"
rm -rf "$ROOT" "$OUT.tmp"
mkdir -p "$OUT.tmp"
cp -a "$BASE/$BASE_KEY" "$ROOT"

# Deno: the image's binary.
install -D -m 0755 "$DENO" "$ROOT/usr/lib/pbx/deno"

# Slot a = the app tree plus its DENO_DIR, current -> slots/a.
SLOT="$ROOT/opt/pbx/slots/a"
mkdir -p "$SLOT" "$ROOT/opt/pbx/slots/b"
if [ -f "$REPO/appliance/update/make_bundle.ts" ]; then
  # The product's slot writer: the same tree a firmware bundle carries.
  "$DENO" run --allow-all "$REPO/appliance/update/make_bundle.ts" --slot-dir "$SLOT" --src "$REPO" >&2
else
  (cd "$REPO" && app_files | tar -cf - -T -) | tar -C "$SLOT" -xf -
  (cd "$SLOT" && DENO_DIR="$SLOT/.deno_dir" "$DENO" cache --quiet mod.ts)
fi
ln -sfn slots/a "$ROOT/opt/pbx/current"
# Deno caches transpiled modules by absolute path: fill slot a's cache at the path the box runs it
# from (/opt/pbx/slots/a), or the first boot transpiles every module (slow under qemu TCG).
rm -rf "$SLOT/.deno_dir/gen"
mount -t proc proc "$ROOT/proc"
if ! chroot "$ROOT" env DENO_DIR=/opt/pbx/slots/a/.deno_dir HOME=/root /usr/lib/pbx/deno run --cached-only \
  --allow-all /opt/pbx/slots/a/mod.ts --help >/dev/null; then
  umount "$ROOT/proc"
  die "slot a does not load inside the image (deno run --cached-only mod.ts --help failed)"
fi
umount "$ROOT/proc"

# Launcher: helper "update"'s appliance/box/pbx-launch; a stub with the same contract until then.
if [ -f "$REPO/appliance/box/pbx-launch" ]; then
  install -m 0755 "$REPO/appliance/box/pbx-launch" "$ROOT/usr/lib/pbx/pbx-launch"
else
  say "appliance/box/pbx-launch missing: installing a stub launcher (no staged/trial handling)"
  cat >"$ROOT/usr/lib/pbx/pbx-launch" <<'EOF'
#!/bin/sh
# Stub launcher (the real one is appliance/box/pbx-launch).
set -eu
root=${PBX_APP_ROOT:-/opt/pbx}
current=$(readlink -f "$root/current")
deno=${PBX_DENO:-/usr/lib/pbx/deno}
[ -x "$current/bin/deno" ] && deno="$current/bin/deno"
cd "$current"
DENO_DIR="$current/.deno_dir" exec "$deno" run --cached-only --allow-net --allow-read --allow-write \
  --allow-env --allow-ffi --allow-sys --allow-run "$current/mod.ts" "$@"
EOF
  chmod 0755 "$ROOT/usr/lib/pbx/pbx-launch"
fi

# The service user (system user, no login, home = the data dir) owns the firmware slots, so
# pbx-launch switches slots and the updater writes them without privileges.
chroot "$ROOT" useradd --system --user-group --home-dir /var/lib/pbx --no-create-home --shell /usr/sbin/nologin pbx
chroot "$ROOT" chown -R pbx:pbx /opt/pbx
# The privileged helper (fixed command set, reached over pbx-helper.socket).
install -m 0755 "$REPO/appliance/box/pbx-helper" "$ROOT/usr/lib/pbx/pbx-helper"
# The image's own values of the /etc files the box manages: a factory reset puts them back
# (pbx-helper factory-etc, run by pbx-factory-reset.service).
mkdir -p "$ROOT/usr/lib/pbx/factory"
cp "$ROOT/etc/hostname" "$ROOT/usr/lib/pbx/factory/hostname"
[ -f "$ROOT/etc/timezone" ] && cp "$ROOT/etc/timezone" "$ROOT/usr/lib/pbx/factory/timezone"
lt=$(readlink "$ROOT/etc/localtime" 2>/dev/null) && ln -sfn "$lt" "$ROOT/usr/lib/pbx/factory/localtime"

# systemd units, the default network, enablement (symlinks: what `systemctl enable` would make,
# from each unit's WantedBy=; templates are started by their socket, not enabled).
UNITS="$REPO/appliance/box/systemd"
for u in "$UNITS"/*.service "$UNITS"/*.socket; do
  [ -f "$u" ] || continue
  name=$(basename "$u")
  install -m 0644 "$u" "$ROOT/etc/systemd/system/$name"
  case $name in *@.service) continue ;; esac
  target=$(sed -n 's/^WantedBy=//p' "$u" | head -n 1)
  [ -n "$target" ] || continue
  mkdir -p "$ROOT/etc/systemd/system/$target.wants"
  ln -sfn "/etc/systemd/system/$name" "$ROOT/etc/systemd/system/$target.wants/$name"
done
install -D -m 0644 "$HERE/80-pbx-default.network" "$ROOT/etc/systemd/network/80-pbx-default.network"

# Trusted update key.
install -D -m 0644 "$KEYS/test-update.pub" "$ROOT/etc/pbx/update-keys/test-update.pub"

# Kernel and initrd for qemu direct boot.
kver=$(ls "$ROOT/lib/modules" | sort -V | tail -n 1)
cp "$ROOT/boot/vmlinuz-$kver" "$OUT.tmp/vmlinuz"
cp "$ROOT/boot/initrd.img-$kver" "$OUT.tmp/initrd.img"
echo "root=/dev/vda rw console=ttyS0,115200 quiet systemd.show_status=1 net.ifnames=1" >"$OUT.tmp/cmdline"

# ext4 image: used size plus room for slot b, an uploaded bundle and data (sparse file).
used_mb=$(du -sm "$ROOT" | cut -f1)
size_mb=$((used_mb + used_mb / 2 + 768))
mkfs.ext4 -q -F -L pbx-root -d "$ROOT" "$OUT.tmp/rootfs.img" "${size_mb}M"
rm -rf "$ROOT"

echo "$HASH" >"$OUT.tmp/inputs.sha256"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
t_end=$(date +%s)
alloc_mb=$(du -sm "$OUT/rootfs.img" | cut -f1)
say "done in $((t_end - t0)) s (base $((t_base - t0)) s, image $((t_end - t_base)) s):" \
  "rootfs ${used_mb} MB used, rootfs.img ${size_mb} MB (${alloc_mb} MB allocated)"
