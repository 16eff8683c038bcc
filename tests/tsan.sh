#!/bin/sh
# tsan.sh - `make tsan`: the window built with ThreadSanitizer, under Xvfb, driven faster than its jobs
# run: a lesson with a patching sweep (lesson 9) paged through with quick PageDowns and PageUps, and the
# viewer stepped with quick Right/Left presses while it generates. Every key must wait in the queue while
# a job owns the run (app.h); a ThreadSanitizer report fails.
#   sh tests/tsan.sh GPTSTEP OUTDIR
set -u
GS=$1
OUT=$(cd "$2" && pwd)
DIR=$OUT/tsan
rm -rf "$DIR" && mkdir -p "$DIR"
export SDL_VIDEODRIVER=x11 GPTSTEP_STATE="$DIR/state.json"
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 report_signal_unsafe=0"
Xvfb -displayfd 3 -noreset -screen 0 1600x900x24 -nolisten tcp 3>"$DIR/display" >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null' EXIT
for _ in $(seq 1 100); do [ -s "$DIR/display" ] && break; sleep 0.1; done
DISPLAY=:$(head -n 1 "$DIR/display")
export DISPLAY
passed=0
failed=0
st() { /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($1)" "$GPTSTEP_STATE" 2>/dev/null; }
drive() { # drive WHAT TITLE WANT KEYS... -- ARGS...: opens the window, presses KEYS 20 ms apart, waits until
    # the state shows WANT (every key kept and played in order), closes it
    what=$1 title=$2 want=$3
    shift 3
    keys=""
    while [ "$1" != "--" ]; do keys="$keys $1"; shift; done
    shift
    rm -f "$GPTSTEP_STATE"
    "$GS" "$@" > "$DIR/log" 2>&1 &
    pid=$!
    wid=""
    for _ in $(seq 1 1800); do # 3 minutes: a lesson runs every step once before its window opens
        wid=$(xdotool search --name "^$title\$" 2>/dev/null | head -n 1)
        [ -n "$wid" ] && [ -s "$GPTSTEP_STATE" ] && break
        sleep 0.1
    done
    if [ -z "$wid" ]; then echo "FAIL $what: no window"; failed=$((failed + 1)); kill $pid 2>/dev/null; return; fi
    xdotool key --delay 20 --window "$wid" $keys 2>/dev/null
    got=""
    for _ in $(seq 1 1800); do
        got=$(st "s.get('lesson', {}).get('progress', 'step %d' % s['step'])")
        case "$got" in "$want"*) break ;; esac
        sleep 0.1
    done
    sleep 1
    xdotool key --window "$wid" q 2>/dev/null; xdotool keyup q 2>/dev/null
    for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
    kill $pid 2>/dev/null
    wait $pid
    case "$got" in
    "$want"*) ;;
    *) echo "FAIL $what: the keys were not all played in order: the state says '$got', expected '$want'"; failed=$((failed + 1)); return ;;
    esac
    if grep -q "WARNING: ThreadSanitizer" "$DIR/log"; then
        echo "FAIL $what: ThreadSanitizer reports"; grep -A30 "WARNING: ThreadSanitizer" "$DIR/log" | head -60 | sed 's/^/    /'
        failed=$((failed + 1))
    else
        echo "ok   $what: no ThreadSanitizer report ($(st "s.get('lesson', {}).get('progress', 'step %d' % s['step'])"))"
        passed=$((passed + 1))
    fi
}
drive "lesson 9 paged quickly" "gptstep lesson" "step 9 /" Next Next Next Next Next Next Next Next Prior Prior Next Next -- lesson lessons/09-knock-it-out.lesson
drive "the viewer stepped quickly" gptstep "step 7" Right Right Right Right Left Right Right x Right Down Right -- view --model "$OUT/tiny-f32"
echo "tsan: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
