#!/bin/sh
# valgrind.sh - `make valgrind`: the C test programs under valgrind's memcheck (errors and definite leaks
# fail), one after the other. The Python-driven tests run the same code through ./gptstep and are
# covered by `make asan`; valgrind runs each program 20-50 times slower, so it takes the C tests alone.
cd "$(dirname "$0")/.." || exit 1
B=${GPTSTEP_TEST_BUILD:-build}
OUT=tests/out
VG="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions=tests/valgrind.supp"
export OMP_NUM_THREADS=1 GOMP_SPINCOUNT=0
passed=0
failed=0
t() {
    name=$1
    shift
    if $VG "$@" > "$OUT/valgrind-$name.log" 2>&1; then passed=$((passed + 1)); echo "ok   $name"
    else failed=$((failed + 1)); echo "FAIL $name:"; grep -E "==[0-9]+==" "$OUT/valgrind-$name.log" | head -20 | sed 's/^/    /'; fi
}
t tokenizer "$B/tests/test_tokenizer" models tests
t ops "$B/tests/test_ops"
t safetensors "$B/tests/test_safetensors" "$OUT/safetensors"
t forward-c "$B/tests/test_forward" "$OUT/tiny-f32" "$OUT/forward-c"
t viewer-editor "$B/tests/viz_editor"
t viewer-docs "$B/tests/viz_docs" docs
t viewer-views "$B/tests/viz_views" "$OUT/tiny-f32" tests/golden "$OUT/views"
t cli-generate ./gptstep generate --model "$OUT/tiny-f32" --prompt "Hello there" -n 5 --seed 1
t cli-trace ./gptstep trace --model "$OUT/tiny-f32" --prompt "Hello there" -n 3 -o "$OUT/valgrind.trace"
t cli-dump ./gptstep dump "$OUT/valgrind.trace" h.1.attn.weights
t render ./gptstep render --model "$OUT/tiny-f32" --prompt "Hello there" -n 2 --view all -o "$OUT/valgrind.pdf"
echo "valgrind: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
