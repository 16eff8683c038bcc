#!/bin/sh
# deps.sh - installs the Debian/Ubuntu packages gptstep needs, only those that are missing.
# Called by `make deps` (and so by `make run`), and by `make test` as `deps.sh --test`. Uses sudo when not root.
set -eu

PKGS="build-essential pkg-config libpcre2-dev libcjson-dev libsdl2-dev libcairo2-dev libstb-dev \
python3 python3-numpy python3-regex xvfb xauth xdotool x11-apps imagemagick poppler-utils fonts-dejavu-core fonts-droid-fallback \
curl ca-certificates bc"
# `make test` also tests the training tools (tools/train/), which use Debian's PyTorch, and replays the
# fuzz harnesses (tests/fuzz/), built by clang with libFuzzer (Debian's libclang-rt-dev; Ubuntu's clang
# carries libFuzzer itself)
if [ "${1:-}" = "--test" ]; then
    PKGS="$PKGS python3-torch clang valgrind"
    if apt-cache show libclang-rt-dev >/dev/null 2>&1; then PKGS="$PKGS libclang-rt-dev"; fi
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "gptstep: missing packages:$missing" >&2
    echo "gptstep: this is not a Debian/Ubuntu system; install the equivalents by hand (see README.md)." >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "gptstep: missing packages:$missing; run as root or install sudo" >&2; exit 1
    fi
fi
echo "gptstep: installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
