#!/usr/bin/env bash
# Makes this machine able to run out/cavra-linux-arm64 under emulation, for the tests
# (test/support/qemu-setup.ts): qemu-user's aarch64 emulator and the arm64 C and C++ runtime
# libraries that Node's arm64 executable links (Debian's cross packages put them under
# /usr/aarch64-linux-gnu, which the emulator is given with -L). No binfmt registration is
# needed: the tests call the emulator themselves.
#
# Installs the Debian packages when something is missing (as root, or through sudo without a
# password prompt). Prints the emulator's path on the last line of stdout.
set -euo pipefail

SYSROOT=/usr/aarch64-linux-gnu
PACKAGES=(qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross)

emulator() { command -v qemu-aarch64-static || command -v qemu-aarch64 || true; }
libraries_present() {
  [ -e "$SYSROOT/lib/ld-linux-aarch64.so.1" ] && compgen -G "$SYSROOT/lib/libstdc++.so.6*" >/dev/null
}

if [ -z "$(emulator)" ] || ! libraries_present; then
  if ! command -v apt-get >/dev/null; then
    echo "ensure-qemu: no apt-get here; install an aarch64 qemu-user emulator and the arm64 glibc and libstdc++ under $SYSROOT (Debian: ${PACKAGES[*]})." >&2
    exit 1
  fi
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
      echo "ensure-qemu: installing ${PACKAGES[*]} needs root; run: sudo apt-get install -y ${PACKAGES[*]}" >&2
      exit 1
    fi
    as_root=(sudo -n)
  fi
  echo "ensure-qemu: installing ${PACKAGES[*]}" >&2
  # Another apt run on the machine holds the lists lock for a while: try the update again.
  for attempt in 1 2 3 4 5; do
    if "${as_root[@]}" apt-get update -qq >&2; then break; fi
    [ "$attempt" -eq 5 ] && exit 1
    sleep 10
  done
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    -o DPkg::Lock::Timeout=300 --no-install-recommends "${PACKAGES[@]}" >&2
fi

found=$(emulator)
if [ -z "$found" ] || ! libraries_present; then
  echo "ensure-qemu: ${PACKAGES[*]} are installed, yet the emulator or $SYSROOT is missing." >&2
  exit 1
fi
echo "$found"
