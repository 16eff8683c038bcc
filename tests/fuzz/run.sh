#!/bin/sh
# run.sh - the libFuzzer harnesses of tests/fuzz/, built by `make fuzz` into build-fuzz/.
#   sh tests/fuzz/run.sh replay          every harness over its seed corpus and regressions, each input
#                                        once (what `make test` runs); ends "N passed, N failed"
#   sh tests/fuzz/run.sh fuzz SECONDS    each harness in turn for SECONDS, growing build-fuzz/corpus/NAME;
#                                        a finding is written to build-fuzz/findings/NAME-*
#   FUZZ_BUILD=DIR FUZZ_ONLY=NAME         another build of the harnesses (build-fuzz-tsan: ThreadSanitizer),
#                                        and one harness only
cd "$(dirname "$0")/../.." || exit 1
B=${FUZZ_BUILD:-build-fuzz}
MODE=${1:-replay}
SECS=${2:-60}
export GPTSTEP_ROOT=$(pwd)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}
ONLY=${FUZZ_ONLY:-}
passed=0
failed=0
# every harness that has a source must be built, and built from the code as it is now: a replay of a
# missing or stale harness would test nothing or old code
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    name=${name#fuzz_}
    [ -z "$ONLY" ] || [ "$name" = "$ONLY" ] || continue
    h=$B/fuzz_$name
    if [ ! -x "$h" ]; then echo "FAIL $name: $h is not built (make fuzz-replay builds it)"; failed=$((failed + 1)); continue; fi
    newer=$(find src viz tests/fuzz -name '*.[ch]' ! -name web.c ! -name main.c -newer "$h" 2>/dev/null | head -n 1)
    if [ -n "$newer" ]; then echo "FAIL $name: $h is older than $newer (make fuzz-replay rebuilds it)"; failed=$((failed + 1)); continue; fi
    seeds=tests/fuzz/corpus/$name
    regs=tests/fuzz/regressions/$name
    dict=tests/fuzz/$name.dict
    [ -f "$dict" ] && d="-dict=$dict" || d=""
    if [ "$MODE" = fuzz ]; then
        mkdir -p "$B/corpus/$name" "$B/findings"
        echo "== $name: fuzzing for $SECS s"
        "$h" $d -max_total_time="$SECS" -timeout=10 -rss_limit_mb=3000 -print_final_stats=1 \
            -artifact_prefix="$B/findings/$name-" "$B/corpus/$name" "$seeds" 2>&1 | \
            grep -E "^#[0-9]+ +DONE|^stat::number_of_executed_units|^stat::peak_rss|cov:.*ft:|ERROR|SUMMARY|Test unit written|ThreadSanitizer" | tail -6
    else
        files=$(find "$seeds" "$regs" -type f 2>/dev/null | sort)
        n=$(echo "$files" | grep -c .)
        if [ "$n" -eq 0 ]; then echo "FAIL $name: no corpus"; failed=$((failed + 1)); continue; fi
        # each input once, no fuzzing; a crash, leak, hang (10 s) or sanitizer report fails
        if out=$(echo "$files" | xargs "$h" -timeout=10 -rss_limit_mb=3000 2>&1); then
            echo "ok   $name: $n inputs"
            passed=$((passed + 1))
        else
            echo "FAIL $name:"
            echo "$out" | grep -E "ERROR|SUMMARY|Running:|runtime error|WARNING: ThreadSanitizer" | head -8 | sed 's/^/    /'
            failed=$((failed + 1))
        fi
    fi
done
if [ "$MODE" != fuzz ]; then
    echo "fuzz replay: $passed passed, $failed failed"
    [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
fi
