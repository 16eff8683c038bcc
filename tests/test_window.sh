#!/bin/sh
# test_window.sh - the real viewer window under Xvfb: start it, send keys (next token, change layer and
# head, open the grid, export PNG and PDF), take screenshots with xwd, check that each key changed
# what the window shows, that the exports exist and open, and that Q closes it cleanly (exit 0).
#   sh tests/test_window.sh GPTSTEP OUTDIR      (OUTDIR holds tiny-f32 from test_forward.py)
set -u
ROOT=$(pwd)
GS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$(cd "$2" && pwd)
MODEL=$OUT/tiny-f32
DIR=$OUT/window
rm -rf "$DIR" && mkdir -p "$DIR"
for tool in Xvfb xdotool xwd /usr/bin/convert pdfinfo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "window: missing $tool (run 'make deps')"; exit 1; }
done
DELAY=${SHOT_DELAY:-0.6}
DISP=:$((90 + $$ % 100))
Xvfb "$DISP" -screen 0 1600x900x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
export DISPLAY=$DISP
trap 'kill $XPID 2>/dev/null; [ -n "${VPID:-}" ] && kill $VPID 2>/dev/null' EXIT
sleep 1
cd "$DIR" || exit 1
wait_window() { # wait_window TITLE: sets WID to the window with that exact title (10 s at most)
    WID=""
    for _ in $(seq 1 300); do # 30 s at most: a busy machine can be slow to start a sanitizer build
        WID=$(xdotool search --name "^$1\$" 2>/dev/null | head -n 1)
        [ -n "$WID" ] && return 0
        sleep 0.1
    done
    return 1
}
"$GS" view --model "$MODEL" --seed 3 > view.log 2>&1 &
VPID=$!
wait_window gptstep || { echo "window: no gptstep window appeared"; cat view.log; exit 1; }
sleep "$DELAY"; sleep 1 # the model loads on the worker thread
n=0
fails=0
shot() { sleep "$DELAY"; n=$((n + 1)); xwd -root -silent | /usr/bin/convert xwd:- "shot$n.png"; }
key() { xdotool key --window "$WID" "$@" 2>/dev/null; }
same_pixels() { [ "$(/usr/bin/compare -metric AE "$1" "$2" null: 2>&1)" = "0" ]; }
differs() { # differs A B WHAT: the two screenshots must not be identical
    if same_pixels "$1" "$2"; then echo "FAIL $3: the window did not change"; fails=$((fails + 1)); else echo "ok   $3"; fi
}
settle() { # screenshots until two in a row are the same (10 s at most): the worker has finished
    shot; for _ in $(seq 1 20); do prev=shot$n.png; sleep 0.3; shot; same_pixels "$prev" "shot$n.png" && return 0; done; return 0
}
check() { if eval "$1"; then echo "ok   $2"; else echo "FAIL $2"; fails=$((fails + 1)); fi; }

shot                                   # 1: as opened
key Right; shot                        # 2: next token
differs shot1.png shot2.png "next token (Right)"
key Down 3; shot                       # 3: layer 1, head 2
differs shot2.png shot3.png "change layer and head (Down, 3)"
key g; shot                            # 4: all heads
differs shot3.png shot4.png "open the grid (G)"
key Left; shot                         # 5: previous token
differs shot4.png shot5.png "previous token (Left)"
key g Right; shot                      # 6: forward again: same as shot 3 (stepping back and forth is exact)
check "same_pixels shot3.png shot6.png" "back and forward again shows the same frame"
key e; key shift+e; sleep 1.5
check "[ -s gptstep-001.png ] && /usr/bin/convert gptstep-001.png info:- >/dev/null 2>&1" "E exported a PNG that opens"
check "pdfinfo gptstep-002.pdf >/dev/null 2>&1" "Shift+E exported a PDF that opens"
key question; shot
differs shot6.png shot7.png "help overlay (?)"
typed() { # typed COMMAND: the ':' prompt, the command, Enter
    key colon; sleep 0.3; xdotool type --window "$WID" "$1" 2>/dev/null; key Return
}
key Escape; typed "view grid"; settle; g0=shot$n.png
geo=$(xdotool getwindowgeometry "$WID" | sed -n 's/ *Geometry: //p')
xdotool mousemove --window "$WID" $((${geo%x*} / 3)) $((${geo#*x} / 3)) click 3 2>/dev/null; settle; g1=shot$n.png
differs "$g0" "$g1" "right-click on a head in the grid knocks it out"
key d; settle; g2=shot$n.png
differs "$g1" "$g2" "D shows the clean run"
key ctrl+x; settle; g3=shot$n.png
differs "$g2" "$g3" "Ctrl+X switches to mean ablation"
typed "attribute"; settle; g4=shot$n.png
differs "$g3" "$g4" ":attribute shows the experiment view"
key q
for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
if kill -0 $VPID 2>/dev/null; then
    echo "FAIL Q did not close the window"; fails=$((fails + 1))
else
    wait $VPID
    rc=$?
    check "[ $rc -eq 0 ]" "closed cleanly with Q (exit $rc)"
fi
if [ -s view.log ]; then echo "viewer output:"; sed 's/^/    /' view.log; fi

# A lesson played with a clicker: PageDown advances, PageUp goes back to the same frame, Esc leaves it.
"$GS" lesson "$ROOT/lessons/04-the-mask.lesson" > lesson.log 2>&1 &
VPID=$!
if ! wait_window "gptstep lesson"; then
    echo "FAIL no lesson window appeared"; fails=$((fails + 1)); cat lesson.log
else
    sleep 1
    settle; first=shot$n.png         # step 1, once the model has loaded and run
    key Next; settle; second=shot$n.png
    differs "$first" "$second" "lesson: PageDown advances"
    key Prior; settle
    check "same_pixels $first shot$n.png" "lesson: PageUp returns to exactly the same frame"
    key Escape Right; settle
    differs "$first" "shot$n.png" "lesson: Esc leaves the lesson, Right then steps the viewer"
    key q
    for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
    wait $VPID
    check "[ $? -eq 0 ]" "lesson window closed cleanly"
fi
if [ -s lesson.log ]; then echo "lesson output:"; sed 's/^/    /' lesson.log; fi
grep -q "ERROR: AddressSanitizer\|runtime error" lesson.log && { echo "FAIL sanitizer report (lesson)"; fails=$((fails + 1)); }
grep -q "ERROR: AddressSanitizer\|runtime error" view.log && { echo "FAIL sanitizer report"; fails=$((fails + 1)); }
# A 1280x720 display (a projector): the window fits it; presenter mode, zoom, Tab, the prompt editor.
kill $XPID 2>/dev/null
DISP2=:$((190 + $$ % 100))
Xvfb "$DISP2" -screen 0 1280x720x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
export DISPLAY=$DISP2
sleep 1
"$GS" view --model "$MODEL" --seed 3 > view720.log 2>&1 &
VPID=$!
if ! wait_window gptstep; then
    echo "FAIL no window appeared on the 1280x720 display"; fails=$((fails + 1)); cat view720.log
else
    sleep "$DELAY"; sleep 1
    geo=$(xdotool getwindowgeometry "$WID" | sed -n 's/ *Geometry: //p')
    gw=${geo%x*}; gh=${geo#*x}
    check "[ $gw -le 1280 ] && [ $gh -le 720 ]" "the window fits a 1280x720 display ($geo)"
    shot; a=shot$n.png
    key l; shot; b=shot$n.png
    differs "$a" "$b" "presenter mode (L)"
    key Tab; shot; c=shot$n.png
    differs "$b" "$c" "Tab shows the next view"
    key shift+Tab; key plus; shot; d=shot$n.png
    differs "$b" "$d" "+ zooms the heatmap"
    key Return; sleep 0.3
    xdotool type --window "$WID" "The dragon flew" 2>/dev/null
    shot; e=shot$n.png
    differs "$d" "$e" "Enter opens the prompt editor"
    key Return; sleep 1; shot; f=shot$n.png
    differs "$e" "$f" "Enter runs the typed prompt"
    key q
    for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
    wait $VPID
    check "[ $? -eq 0 ]" "closed cleanly at 1280x720"
fi
grep -q "ERROR: AddressSanitizer\|runtime error" view720.log && { echo "FAIL sanitizer report (1280x720)"; fails=$((fails + 1)); }
# Inputs that load a model but cannot run, or a model that cannot load: the window stays up with the
# message, and Q closes it cleanly.
mkdir -p zero-width
/usr/bin/python3 -c "
d = open('$ROOT/tests/fuzz/regressions/checkpoint/zero-width-embedding', 'rb').read()
open('zero-width/model.safetensors', 'wb').write(d)"
long=$(seq 1 400 | tr '\n' ' ')
survive() { # survive WHAT ARGS...: the window opens, keys work, Q closes it with status 0
    what=$1
    shift
    "$GS" view "$@" > bad.log 2>&1 &
    VPID=$!
    if ! wait_window gptstep; then
        echo "FAIL $what: no window"; sed 's/^/    /' bad.log; fails=$((fails + 1)); kill $VPID 2>/dev/null; return
    fi
    sleep "$DELAY"; sleep 1
    key Right; key Return; key Escape; sleep 0.3
    if ! kill -0 $VPID 2>/dev/null; then echo "FAIL $what: the window died"; fails=$((fails + 1)); return; fi
    key q
    for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
    wait $VPID
    rc=$?
    if [ $rc -eq 0 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error" bad.log; then echo "ok   $what: the window stayed up"
    else echo "FAIL $what (exit $rc)"; sed 's/^/    /' bad.log; fails=$((fails + 1)); fi
}
survive "a prompt longer than the context" --model "$MODEL" --prompt "$long"
survive "a prompt of invalid UTF-8" --model "$MODEL" --prompt "$(printf 'bad \377')"
survive "-n past the context" --model "$MODEL" --prompt "Hello" -n 500
survive "a model whose embedding has zero width" --model "$DIR/zero-width"
echo "window: $((30 - fails)) passed, $fails failed"
[ $fails -eq 0 ]
