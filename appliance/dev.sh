#!/bin/sh
# Developer entry point on a fresh Debian 12 machine with Node and root:
#   sh appliance/dev.sh start [args...]   start the appliance on embedded defaults
#   sh appliance/dev.sh test  [args...]   run the whole test suite
# POSIX sh on purpose: it runs before anything else is installed.
set -eu

DENO_VERSION=2.9.6

# Packages the end-to-end tests drive (real peers) and the codec libraries loaded through FFI.
TEST_PACKAGES="sip-tester baresip libopus0 libspandsp2 libbcg729-0 libspeexdsp1 libasound2 alsa-utils atftp tftp-hpa sox chromium openssl"
# The test image (os-image/test-image) is built with mmdebstrap and booted under qemu by the last test stage.
TEST_PACKAGES="$TEST_PACKAGES mmdebstrap qemu-system-x86 e2fsprogs"
# sipvicious (svcrack) and fail2ban (fail2ban-regex checks the documented filter): tests/sip/security_e2e_test.ts
TEST_PACKAGES="$TEST_PACKAGES sipvicious fail2ban"
# SUBSCRIBE/NOTIFY interop (tests/events): twinkle-console subscribes to message-summary
TEST_PACKAGES="$TEST_PACKAGES twinkle-console"
# linphonec: a real SIP client holding, resuming and blind-transferring calls (tests/sip/linphonec_e2e_test.ts)
TEST_PACKAGES="$TEST_PACKAGES linphone-cli"
# STIR/SHAKEN: independent PASSporT check (PyJWT + cryptography) in runtime/call/stir/sign_test.ts
TEST_PACKAGES="$TEST_PACKAGES python3-jwt python3-cryptography"
# python3-aiosmtpd: a real SMTP server (STARTTLS, AUTH) for the mail outbox tests (tests/mail)
TEST_PACKAGES="$TEST_PACKAGES python3-aiosmtpd"
# bitbake -p / -g over os-image/meta-pbx (tests/image/yocto_layer_test.ts): host tools its sanity check wants, locale sources.
TEST_PACKAGES="$TEST_PACKAGES chrpath diffstat gawk cpio lz4 zstd file wget git gcc g++ make patch locales"
# The layer's RAUC system.conf and GRUB A/B script are checked with the real tools (rauc, grub-script-check).
TEST_PACKAGES="$TEST_PACKAGES rauc grub-common"
RUNTIME_PACKAGES="libopus0 libspandsp2 libbcg729-0 libspeexdsp1 libasound2 openssl"
# libsrtp2 (drivers/srtp): SRTP for encrypted calls; its tests (drivers/srtp/mod_test.ts) need it too
RUNTIME_PACKAGES="$RUNTIME_PACKAGES libsrtp2-1"
TEST_PACKAGES="$TEST_PACKAGES libsrtp2-1"
# tcpdump: the SRTP end-to-end test shows no plain RTP crosses the loopback (tests/sip/srtp_e2e_test.ts)
TEST_PACKAGES="$TEST_PACKAGES tcpdump"
# Prompts: text-to-speech through FFI (drivers/tts, flite's kal16 voice).
RUNTIME_PACKAGES="$RUNTIME_PACKAGES libflite1"
# Prompts: the TTS library for the tests, and the offline recognizer that checks prompts are intelligible.
TEST_PACKAGES="$TEST_PACKAGES libflite1 pocketsphinx pocketsphinx-en-us"
# Reference servers the benchmarks compare against (not needed by the tests).
BENCH_PACKAGES="kamailio rtpengine-daemon tftpd-hpa gcc"

cd "$(dirname "$0")/.."
REPO_ROOT=$(pwd)
DENO="$REPO_ROOT/.deno/node_modules/.bin/deno"

say() { printf 'dev.sh: %s\n' "$*" >&2; }

usage() {
  say "usage: sh appliance/dev.sh start|test|bench [extra args passed to the deno task]"
  exit 2
}

ensure_deno() {
  if [ -x "$DENO" ] && "$DENO" --version 2>/dev/null | head -n 1 | grep -q "^deno $DENO_VERSION "; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    say "npm not found: install Node.js (it brings npm), then run this again"
    exit 1
  fi
  say "installing deno $DENO_VERSION from the npm registry into .deno/"
  mkdir -p "$REPO_ROOT/.deno"
  npm install --prefix "$REPO_ROOT/.deno" --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION" >/dev/null
  if ! "$DENO" --version 2>/dev/null | head -n 1 | grep -q "^deno $DENO_VERSION "; then
    say "deno $DENO_VERSION did not install correctly at $DENO"
    exit 1
  fi
}

# Prints the packages from the list in $1 that dpkg does not report as installed.
missing_packages() {
  missing=""
  for pkg in $1; do
    if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
      missing="$missing $pkg"
    fi
  done
  printf '%s' "${missing# }"
}

apt_install() {
  say "installing Debian packages: $*"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

ensure_test_packages() {
  packages=${1:-$TEST_PACKAGES}
  if ! command -v dpkg >/dev/null 2>&1; then
    say "dpkg not found: this script expects Debian 12; install the equivalents of: $packages"
    exit 1
  fi
  missing=$(missing_packages "$packages")
  [ -z "$missing" ] && return 0
  if ! is_root; then
    say "the tests need these Debian packages, which are missing: $missing"
    say "install them as root with:"
    say "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing"
    exit 1
  fi
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  apt_install $missing
}

ensure_runtime_packages() {
  command -v dpkg >/dev/null 2>&1 || return 0
  missing=$(missing_packages "$RUNTIME_PACKAGES")
  [ -z "$missing" ] && return 0
  if is_root; then
    # shellcheck disable=SC2086
    apt_install $missing || say "warning: could not install $missing; starting with fewer codecs"
  else
    say "warning: missing runtime libraries: $missing (the box runs with fewer codecs)"
    say "  install as root: apt-get update && apt-get install -y --no-install-recommends $missing"
  fi
}

[ $# -ge 1 ] || usage
command=$1
shift

case "$command" in
  start)
    ensure_deno
    ensure_runtime_packages
    exec "$DENO" task start "$@"
    ;;
  test)
    ensure_deno
    ensure_test_packages
    # playwright-core comes through an npm: specifier in deno.json, so Deno fetches it; nothing here.
    if [ $# -gt 0 ]; then
      exec "$DENO" task test "$@"
    fi
    "$DENO" task test
    # Then, alone (qemu under TCG needs the cores): build the test image, boot it, drive the box.
    exec "$DENO" task test:image
    ;;
  bench)
    ensure_deno
    ensure_test_packages "$TEST_PACKAGES $BENCH_PACKAGES"
    exec "$DENO" task bench "$@"
    ;;
  *)
    usage
    ;;
esac
