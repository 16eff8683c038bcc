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
$G render --prompt "$P" -n 6 --seed 7 --view pipeline --stage L2.ffn --size 1600x900 -o $OUT/pipeline.png
# presenter mode on a 1280x720 projector: one head, one cell's computation beside it
$G render --prompt "$P" -n 6 --seed 7 --view attention --layer 2 --head 1 --pos 12 --key 11 --presenter --size 1280x720 -o $OUT/presenter.png
# a long text: the heatmap zoomed around the query, the earlier keys' weight in their own column
L="The little dragon flew over the castle. The little dragon flew over the castle and the king saw it."
L="$L $L $L $L $L $L $L $L"
$G render --prompt "$L" --seed 7 --view attention --layer 3 --head 3 --size 1600x900 -o $OUT/long.png
tmp=$(mktemp -d)
$G lesson lessons/03-self-attention.lesson --png-dir "$tmp" > /dev/null 2>&1
cp "$tmp/step-03.png" $OUT/lesson.png
rm -rf "$tmp"
echo "wrote $OUT/*.png"
