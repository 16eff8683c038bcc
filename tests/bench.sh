#!/bin/sh
# bench.sh - `make bench`: decoder speed (tests/bench.c) and tokenizer speed on the storybook corpus.
# Prints what it measures on this machine; docs/performance.md records the figures and the targets.
cd "$(dirname "$0")/.." || exit 1
B=${GPTSTEP_TEST_BUILD:-build}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OMP_NUM_THREADS=${OMP_NUM_THREADS:-all}"
"$B/tests/bench" "$@" || exit 1
CORPUS=${GPTSTEP_CORPUS:-../shared/corpus/storybooks}
if [ -d "$CORPUS" ]; then
    tmp=$(mktemp)
    cat "$CORPUS"/*.txt > "$tmp"
    bytes=$(wc -c < "$tmp")
    start=$(date +%s.%N)
    n=$(./gptstep tokens --ids --no-special --file "$tmp" | wc -w)
    end=$(date +%s.%N)
    rm -f "$tmp"
    echo "tokenizer: $bytes bytes ($(ls "$CORPUS"/*.txt | wc -l) books) -> $n tokens in $(echo "$end - $start" | bc) s"
else
    echo "tokenizer: skipped ($CORPUS not found; set GPTSTEP_CORPUS to a folder of .txt files)"
fi
