#!/bin/sh
# deps.sh - installs the Debian/Ubuntu packages gptstep needs, only those that are missing.
# Called by `make deps` (and so by `make run`), by `make test` as `deps.sh --test` (which includes --web),
# by `make web` as `deps.sh --web` and by `make valgrind` as `deps.sh --valgrind`. Uses sudo when not root.
set -eu

PKGS="build-essential pkg-config libpcre2-dev libcjson-dev libsdl2-dev libcairo2-dev libstb-dev \
python3 python3-numpy python3-regex xvfb xauth xdotool x11-apps imagemagick poppler-utils fonts-dejavu-core fonts-droid-fallback \
curl ca-certificates bc"
# `make test` also tests the training tools (tools/train/), which use Debian's PyTorch, and replays the
# fuzz harnesses (tests/fuzz/), built by clang with libFuzzer (Debian's libclang-rt-dev; Ubuntu's clang
# carries libFuzzer itself)
# The browser build (`make web`, docs/web.md) uses Debian's emscripten, and builds cairo, pixman, FreeType,
# libpng, zlib, PCRE2 and cJSON for WebAssembly from Debian's source packages (apt-get source: a deb-src
# line is added for them); its test opens the page in Debian's chromium.
WEB_PKGS="emscripten chromium xz-utils"
case "${1:-}" in
--test)
    PKGS="$PKGS python3-torch clang python3-websocket $WEB_PKGS"
    if apt-cache show firefox-esr >/dev/null 2>&1; then PKGS="$PKGS firefox-esr"; fi # Debian's; Ubuntu ships a snap
    if apt-cache show libclang-rt-dev >/dev/null 2>&1; then PKGS="$PKGS libclang-rt-dev"; fi
    WEB=1 ;;
--web) PKGS="$PKGS $WEB_PKGS"; WEB=1 ;;
--valgrind) PKGS="$PKGS valgrind" ;;
esac
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# apt-get source needs the archive's source index: the system's own Debian/Ubuntu entries, as deb-src
if [ "${WEB:-}" = 1 ] && command -v apt-get >/dev/null 2>&1 && ! grep -rqs '^deb-src\|^Types:.*deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "gptstep: adding the archive's source packages (deb-src) to apt's sources, for the browser build"
    src=$(mktemp)
    # deb822 files: each paragraph of Debian's or Ubuntu's archive again, with Types: deb-src (same options)
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && awk 'BEGIN { RS = ""; ORS = "\n\n" } /URIs:[^\n]*(debian\.org|ubuntu\.com)/ && /Types:[^\n]*deb/ {
            sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >> "$src"
    done
    if [ -s "$src" ]; then
        $SUDO cp "$src" /etc/apt/sources.list.d/gptstep-src.sources
    else # one-line sources.list
        grep -hs '^deb [^#]*\(debian\.org\|ubuntu\.com\)' /etc/apt/sources.list | sed 's/^deb /deb-src /' > "$src"
        $SUDO cp "$src" /etc/apt/sources.list.d/gptstep-src.list
    fi
    rm -f "$src"
    $SUDO apt-get update -q >/dev/null
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
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "gptstep: missing packages:$missing; run as root or install sudo" >&2; exit 1
    fi
fi
echo "gptstep: installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
