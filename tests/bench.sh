#!/bin/sh
# bench.sh - `make bench`: decoder speed (tests/bench.c) and tokenizer speed on the storybook corpus.
# Prints what it measures on this machine; docs/performance.md records the figures and the targets.
cd "$(dirname "$0")/.." || exit 1
B=${GPTSTEP_TEST_BUILD:-build}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), OMP_NUM_THREADS=${OMP_NUM_THREADS:-all}"
"$B/tests/bench" "$@" || exit 1
# the viewer, on a random model with GPT-2 small's shapes written by the tests' reference tools
MODEL=tests/out/gpt2-small-shapes
if [ ! -f "$MODEL/model.safetensors" ]; then
    echo "(writing $MODEL: random weights with GPT-2 small's shapes)"
    /usr/bin/python3 -c "import sys; sys.path.insert(0, 'tests'); import gpt2_ref as g; \
g.write_model('$MODEL', g.random_gpt2(12, 12, 768, 1024, seed=6), dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257))"
fi
# a fresh process's first prompt and decode against its later ones (the model written above, loaded as
# gptstep loads it), two processes each: a first run's speed varies with how much of the memory it gets
# the machine (or its hypervisor) must fault in first (docs/performance.md, "A fresh process")
for T in 64 256 64 256; do "$B/tests/bench" --fresh "$MODEL" $T 128 || exit 1; done
# and one more after the machine has idled: on a virtual machine whose host takes back the memory freed
# in it (free page reporting), a first prompt then faults in from the host all the memory it writes
echo "  after 20 s idle (a host that took back freed memory makes every fresh page slow: docs/performance.md):"
sleep 20
"$B/tests/bench" --fresh "$MODEL" 256 128 || exit 1
"$B/tests/viz_bench" "$MODEL" 16 100 || exit 1
# lessons on GPT-2 small's shapes: a step forward (PageDown) and a replay from the start (PageUp, or a
# jump), target <= 100 ms each
"$B/tests/viz_lessons" --model "$MODEL" lessons/*.lesson | sed -n 's/^\(lessons[^:]*\): .*(\(.*\))$/  lesson \1: \2 (target <= 100 ms)/p'
# activation patching: a layers x positions residual sweep of a 19-token text on GPT-2 small's shapes,
# target <= 10 s; an ablation toggled on a 64-token text, target <= 200 ms
./gptstep patch --model "$MODEL" --clean "When Mary and John went to the store, John gave a drink to the little girl who was" \
    --corrupt "When Mary and John went to the store, Mary gave a drink to the little girl who was" --target " Mary" |
    sed -n 's/^logit: .*; \(.*\)$/  patching sweep (12 layers x 19 positions): \1 (target <= 10 s)/p'
# the browser page (make web) in headless chromium, each figure beside the native one of the same run
if [ -f "$B/web/gptstep.html" ] && command -v chromium >/dev/null 2>&1; then
    /usr/bin/python3 tests/bench_web.py "$B" "$MODEL" || exit 1
else
    echo "browser page: skipped ($B/web/gptstep.html not built: make web; or no chromium: make deps-test)"
fi
# the viewer on GPT-2 XL's shapes (48 layers, 25 heads, 1600 wide; 3.1 GB of float16, written once)
XL=tests/out/gpt2-xl-shapes
/usr/bin/python3 tools/write_shapes_model.py "$XL" xl || exit 1
"$B/tests/viz_bench" "$XL" 33 1000 || exit 1
# memory at full context with every tensor recorded: a 1,024-token prompt traced on GPT-2 small's and
# GPT-2 XL's shapes (targets <= 2 GB and <= 14 GB resident); the trace goes to a file (docs/performance.md)
full_context() { # full_context NAME MODEL TARGET_GB
    tmp=$(mktemp -d)
    /usr/bin/python3 -c "import sys; sys.stdout.write('the' + ' the' * 1023)" > "$tmp/prompt.txt"
    start=$(date +%s.%N)
    if /usr/bin/time -f "%M" -o "$tmp/rss" ./gptstep trace --model "$2" --prompt-file "$tmp/prompt.txt" -n 0 -o "$tmp/t.trace" > "$tmp/log" 2>&1; then
        end=$(date +%s.%N)
        kb=$(cat "$tmp/rss")
        echo "full context, $1: 1,024 tokens, every tensor recorded ($(du -h "$tmp/t.trace" | cut -f1) trace file):" \
            "peak resident $(awk "BEGIN { printf \"%.2f\", $kb / 1048576 }") GB (target <= $3 GB)," \
            "$(echo "$end - $start" | bc | cut -c1-6) s with loading and saving"
    else
        echo "full context, $1: FAILED"; sed 's/^/    /' "$tmp/log"
    fi
    rm -rf "$tmp"
}
full_context "GPT-2 small shapes" "$MODEL" 2
full_context "GPT-2 XL shapes" "$XL" 14
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
