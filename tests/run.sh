#!/bin/sh
# run.sh - runs every test of gptstep and ends with one line "N passed, N failed".
# Called by `make test` (and `make asan` with GPTSTEP / GPTSTEP_TEST_BUILD pointing at the ASan build).
#   sh tests/run.sh [--quick]     --quick skips the GPT-2-small-sized model (500 MB of random weights)
cd "$(dirname "$0")/.." || exit 1
# a short OpenMP spin keeps the tests quick when the machine is busy (see docs/performance.md)
[ -n "${OMP_WAIT_POLICY:-}" ] || export GOMP_SPINCOUNT=${GOMP_SPINCOUNT:-20000}
GPTSTEP=${GPTSTEP:-./gptstep}
B=${GPTSTEP_TEST_BUILD:-build}
OUT=tests/out
PY=/usr/bin/python3
QUICK=""
[ "${1:-}" = "--quick" ] && QUICK=--quick
mkdir -p "$OUT"

passed=0
failed=0
skipped=0
failed_names=""
t() {
    name=$1
    shift
    start=$(date +%s)
    "$@" > "$OUT/$name.log" 2>&1
    rc=$?
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1))
        echo "PASS $name ($(( $(date +%s) - start )) s): $(tail -n 1 "$OUT/$name.log")"
    elif [ $rc -eq 77 ]; then
        skipped=$((skipped + 1))
        echo "SKIP $name: $(tail -n 1 "$OUT/$name.log")"
    else
        failed=$((failed + 1))
        failed_names="$failed_names $name"
        echo "FAIL $name ($(( $(date +%s) - start )) s); its log, $OUT/$name.log, ends:"
        tail -n 25 "$OUT/$name.log" | sed 's/^/    /'
    fi
}

t tokenizer "$B/tests/test_tokenizer" models tests
t tokenizer-reference $PY tests/test_tokenizer_ref.py "$GPTSTEP"
t ops "$B/tests/test_ops"
t safetensors "$B/tests/test_safetensors" "$OUT/safetensors"
t forward-reference $PY tests/test_forward.py "$GPTSTEP" "$OUT" $QUICK
t forward-c "$B/tests/test_forward" "$OUT/tiny-f32" "$OUT/forward-c"
t cli $PY tests/test_cli.py "$GPTSTEP" "$OUT"
t viewer-views "$B/tests/viz_views" "$OUT/tiny-f32" tests/golden "$OUT/views"
t viewer-docs "$B/tests/viz_docs" docs
t viewer-editor "$B/tests/viz_editor"
t viewer-layout $PY tests/test_layout.py "$GPTSTEP" "$OUT" $QUICK
t lesson-replay "$B/tests/viz_lessons" lessons/*.lesson
t fuzz-replay sh tests/fuzz/run.sh replay
t storybook $PY tests/test_storybook.py "$GPTSTEP" "$OUT"
t train-tools $PY tests/test_train.py "$GPTSTEP" "$OUT"
t gpt2-real $PY tests/test_gpt2_real.py "$GPTSTEP"
t web $PY tests/test_web.py "$GPTSTEP" "$OUT" "${GPTSTEP_WEB_PAGE:-$B/web/gptstep.html}"
for f in tests/test_*.sh; do
    [ -e "$f" ] || continue
    n=$(basename "$f" .sh)
    t "${n#test_}" sh "$f" "$GPTSTEP" "$OUT"
done

echo
[ -n "$failed_names" ] && echo "failed:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
