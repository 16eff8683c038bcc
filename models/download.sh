#!/bin/sh
# download.sh - fetches a real GPT-2 checkpoint from the Hugging Face hub into models/NAME/.
#
#   sh models/download.sh NAME            NAME: gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2
#   sh models/download.sh verify FILE SHA256 [strict]
#
# Downloads model.safetensors, config.json, vocab.json and merges.txt with a progress bar, resumes an
# interrupted download, checks model.safetensors' SHA-256 (pinned and certain for gpt2, where a
# mismatch is an error; read from Hub pages for the others, where a mismatch is reported as
# "unverified" and the file kept), then validates its structure and shapes with `gptstep info`.
# HF_ENDPOINT overrides https://huggingface.co (a mirror). See docs/models.md.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
ENDPOINT=${HF_ENDPOINT:-https://huggingface.co}

usage() {
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# verify FILE EXPECTED [strict]: 0 when the hash matches; 1 on mismatch when strict; 0 with a warning
# ("unverified") otherwise.
verify() {
    file=$1 want=$2 strict=${3:-}
    [ -f "$file" ] || { echo "gptstep: $file: not found" >&2; return 1; }
    echo "checking SHA-256 of $file ..."
    got=$(sha256_of "$file")
    if [ "$got" = "$want" ]; then
        echo "SHA-256 verified: $got"
        return 0
    fi
    if [ "$strict" = strict ]; then
        echo "gptstep: $file: SHA-256 mismatch: got $got, expected $want (corrupt or wrong file)" >&2
        return 1
    fi
    echo "warning: $file: SHA-256 unverified: got $got, the Hub page listed $want" >&2
    echo "warning: the listed hash may be of an older revision; the file is kept and its structure checked" >&2
    return 0
}

# fetch URL DEST: resumable download with a progress bar; explains a missing network.
fetch() {
    url=$1 dest=$2
    if [ -f "$dest" ]; then
        echo "have $(basename "$dest")"
        return 0
    fi
    echo "downloading $url"
    rc=0
    curl --fail --location --retry 3 --continue-at - --progress-bar -o "$dest.partial" "$url" || rc=$?
    case $rc in
        0) mv "$dest.partial" "$dest" ;;
        5|6|7|28|35|56)
            echo "gptstep: cannot reach $ENDPOINT (curl error $rc): no network? Run 'make $NAME' again when online;" >&2
            echo "gptstep: the partial file $dest.partial is kept and the download resumes from it." >&2
            exit 3 ;;
        22) echo "gptstep: $url: the server refused the request (HTTP error); check the model name" >&2; exit 4 ;;
        *) echo "gptstep: downloading $url failed (curl error $rc); run again to resume" >&2; exit 4 ;;
    esac
}

[ $# -ge 1 ] || { usage >&2; exit 2; }
case $1 in
    -h|--help) usage; exit 0 ;;
    verify) [ $# -ge 3 ] || { usage >&2; exit 2; }; verify "$2" "$3" "${4:-}"; exit $? ;;
esac

NAME=$1
STRICT=""
case $NAME in
    gpt2) REPO=openai-community/gpt2; REV=607a30d783dfa663caf39e06633721c8d4cfcd7e
          SHA=248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707; STRICT=strict ;;
    gpt2-medium) REPO=openai-community/gpt2-medium; REV=main
          SHA=fc5a354a19255ad494f3d71549390baca1ccf61d1d822b9408971705c687c9cd ;;
    gpt2-large) REPO=openai-community/gpt2-large; REV=main
          SHA=5f47f3e12f91cd33b662ce7e433b6150ad5512b5884a2cee961b50e9c3bbebce ;;
    gpt2-xl) REPO=openai-community/gpt2-xl; REV=main
          SHA=0f8b28eb05a8075f48b61b6f35332978c74fc7763fa9fb4051a1c30511736a6a ;;
    distilgpt2) REPO=distilbert/distilgpt2; REV=main
          SHA=e1ff18884359fe8beb795a5f414feb85a6ce3d929ad019c0d958c039d2b94a1b ;;
    *) echo "gptstep: unknown model '$NAME': expected gpt2, gpt2-medium, gpt2-large, gpt2-xl or distilgpt2" >&2
       exit 2 ;;
esac
command -v curl >/dev/null 2>&1 || { echo "gptstep: curl is not installed (run 'make deps')" >&2; exit 1; }

DEST=${GPTSTEP_MODELS:-$HERE}/$NAME
mkdir -p "$DEST"
for f in config.json vocab.json merges.txt model.safetensors; do
    fetch "$ENDPOINT/$REPO/resolve/$REV/$f" "$DEST/$f"
done
if ! verify "$DEST/model.safetensors" "$SHA" "$STRICT"; then
    mv "$DEST/model.safetensors" "$DEST/model.safetensors.bad"
    echo "gptstep: moved it to $DEST/model.safetensors.bad; run 'make $NAME' to download it again" >&2
    exit 5
fi
if [ -x "$ROOT/gptstep" ]; then
    echo "checking structure and shapes ..."
    "$ROOT/gptstep" info "$DEST" || { echo "gptstep: $DEST: the checkpoint does not load (see above)" >&2; exit 6; }
else
    echo "(build gptstep with 'make' to check the checkpoint's structure: ./gptstep info $DEST)"
fi
echo "ready: ./gptstep generate --model $NAME --prompt \"Hello, I'm a language model,\""
