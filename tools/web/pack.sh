#!/bin/sh
# pack.sh - the files the browser page embeds, gzip-compressed, and the index that says where each goes
# (viz/web.c unpacks them at start): the storybook model, GPT-2's tokenizer, the DejaVu fonts, the
# lessons. Everything comes from this repository, except the fonts, from Debian's fonts-dejavu-core.
#   sh tools/web/pack.sh OUTDIR
set -eu
OUT=$1
rm -rf "$OUT" && mkdir -p "$OUT"
: > "$OUT/index"
add() { # add FILE DEST: FILE gzipped into OUT, to be unpacked at DEST
    [ -f "$1" ] || { echo "gptstep web: missing $1" >&2; exit 1; }
    name=$(echo "$2" | sed 's|^/||; s|/|_|g').gz
    gzip -9n < "$1" > "$OUT/$name"
    echo "$name $2" >> "$OUT/index"
}
add models/storybook/model.safetensors /models/storybook/model.safetensors
add models/storybook/config.json /models/storybook/config.json
add models/tokenizer/encoder.json /models/tokenizer/encoder.json
add models/tokenizer/vocab.bpe /models/tokenizer/vocab.bpe
FONTS=/usr/share/fonts/truetype/dejavu
for f in DejaVuSans DejaVuSans-Bold DejaVuSans-Oblique DejaVuSans-BoldOblique DejaVuSansMono DejaVuSansMono-Bold; do
    add "$FONTS/$f.ttf" "/fonts/$f.ttf"
done
for f in lessons/*.lesson; do add "$f" "/lessons/$(basename "$f")"; done
