#!/bin/sh
# screenshots.sh - redraws the pictures in docs/images/ from the shipped model with `gptstep render`
# and `gptstep lesson --png-dir`. Run from the repository root after `make`.
set -e
OUT=docs/images
mkdir -p "$OUT"
G=./gptstep
P="Once upon a time there was a little girl who lived with her grandmother in"
$G render --prompt "$P" -n 6 --seed 7 --view all --layer 2 --head 1 --stage L2.attn --size 1600x900 -o $OUT/viewer.png
$G render --prompt "$P" -n 6 --seed 7 --view attention --layer 2 --head 1 --size 1600x900 -o $OUT/attention.png
$G render --prompt "$P" -n 6 --seed 7 --view grid --size 1600x900 -o $OUT/grid.png
$G render --prompt "$P" -n 6 --seed 7 --view distribution --temperature 0.8 --top-k 40 --size 1600x900 -o $OUT/distribution.png
$G render --prompt "$P" -n 6 --seed 7 --view block --layer 2 --size 1600x900 -o $OUT/block.png
tmp=$(mktemp -d)
$G lesson lessons/03-self-attention.lesson --png-dir "$tmp" > /dev/null 2>&1
cp "$tmp/step-03.png" $OUT/lesson.png
rm -rf "$tmp"
echo "wrote $OUT/*.png"
