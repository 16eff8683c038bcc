#!/bin/sh
# test_window.sh - the real viewer window under Xvfb: start it, send keys and clicks with xdotool, and check
# what it shows twice over: screenshots (xwd) for "the window changed", and the state the window writes
# after every frame (GPTSTEP_STATE, viz_state_json: layer, head, tokens, what is switched off, the lesson
# step) for what changed. Exports must exist and open, Q must close it cleanly (exit 0), a lesson must
# take fast clicker presses in order, and inputs that used to kill it must leave it up.
#   sh tests/test_window.sh GPTSTEP OUTDIR      (OUTDIR holds tiny-f32 from test_forward.py)
# Every count printed is a count of checks that ran; a block that cannot start fails each of its checks.
set -u
ROOT=$(pwd)
GS=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
OUT=$(cd "$2" && pwd)
MODEL=$OUT/tiny-f32
DIR=$OUT/window
rm -rf "$DIR" && mkdir -p "$DIR"
for tool in Xvfb xdotool xwd /usr/bin/convert /usr/bin/compare pdfinfo; do
    command -v "$tool" >/dev/null 2>&1 || { echo "window: missing $tool (run 'make deps-test')"; exit 1; }
done
[ -f "$MODEL/model.safetensors" ] || { echo "window: $MODEL/model.safetensors missing (tests/test_forward.py makes it)"; exit 1; }
DELAY=${SHOT_DELAY:-0.6}
export SDL_VIDEODRIVER=x11 # never SDL's invisible fallback: no display is an error, not a hidden window
export GPTSTEP_STATE="$DIR/state.json"
passed=0
fails=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }
check() { if eval "$1"; then ok "$2"; else bad "$2"; fi; }
XPID=""
VPID=""
trap '[ -n "$VPID" ] && kill $VPID 2>/dev/null; [ -n "$XPID" ] && kill $XPID 2>/dev/null' EXIT
# start_x WxH: a fresh X server on a display number it picks itself (-displayfd: no two runs share
# one), that does not reset when its last client leaves (-noreset: a reset drops a client that connects
# meanwhile); ready once it has written its number.
# start_x WxH WxH: two screens (SDL sees two displays).
start_x() {
    [ -n "$XPID" ] && kill $XPID 2>/dev/null && wait $XPID 2>/dev/null
    rm -f "$DIR/display"
    # shellcheck disable=SC2046
    Xvfb -displayfd 3 -noreset -screen 0 "${1}x24" $([ -n "${2:-}" ] && echo -screen 1 "${2}x24") -nolisten tcp 3>"$DIR/display" >"$DIR/xvfb.log" 2>&1 &
    XPID=$!
    for _ in $(seq 1 100); do [ -s "$DIR/display" ] && break; sleep 0.1; done
    if [ ! -s "$DIR/display" ]; then echo "window: Xvfb did not start:"; cat "$DIR/xvfb.log"; exit 1; fi
    DISPLAY=:$(head -n 1 "$DIR/display")
    export DISPLAY
}
wait_window() { # wait_window TITLE PID: sets WID to the window with that exact title (30 s at most)
    WID=""
    for _ in $(seq 1 300); do
        WID=$(xdotool search --name "^$1\$" 2>/dev/null | head -n 1)
        [ -n "$WID" ] && return 0
        kill -0 "$2" 2>/dev/null || { echo "     (the process exited before a window appeared)"; return 1; }
        sleep 0.1
    done
    echo "     (no window after 30 s; the process is still running)"
    return 1
}
# the state's FIELD (python expression on s), once the window is not busy
st() { /usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print($1)" "$GPTSTEP_STATE" 2>/dev/null; }
idle() { # waits until the state says the window is idle with a model (20 s at most)
    for _ in $(seq 1 200); do
        [ "$(st "s['loaded'] and not s['busy']")" = "True" ] && return 0
        sleep 0.1
    done
    return 1
}
# press KEYS...: sends them and waits for the window to draw a new frame and be idle again (5 s at most)
press() {
    f=$(st "s['frame']")
    xdotool key --window "$WID" "$@" 2>/dev/null
    for _ in $(seq 1 50); do [ "$(st "s['frame']")" != "$f" ] && break; sleep 0.1; done
    idle
}
n=0
shot() { sleep "$DELAY"; n=$((n + 1)); xwd -root -silent | /usr/bin/convert xwd:- "shot$n.png"; }
key() { xdotool key --window "$WID" "$@" 2>/dev/null; }
same_pixels() { [ "$(/usr/bin/compare -metric AE "$1" "$2" null: 2>&1)" = "0" ]; }
differs() { # differs A B WHAT: the two screenshots must not be identical
    if same_pixels "$1" "$2"; then bad "$3: the window did not change"; else ok "$3"; fi
}
settle() { # screenshots until two in a row are the same (10 s at most): the worker has finished
    shot; for _ in $(seq 1 20); do prev=shot$n.png; sleep 0.3; shot; same_pixels "$prev" "shot$n.png" && return 0; done; return 0
}
typed() { # typed COMMAND: the ':' prompt, the command, Enter
    key colon; sleep 0.3; xdotool type --window "$WID" "$1" 2>/dev/null; key Return
}
# Q: xdotool presses it with XTEST when the window has the focus, and cannot release it once the window
# is gone, so the X server would still hold it down - and SDL reports keys held when a window gets the
# focus: the next window would close at once. Released by hand.
quit_key() { key q; xdotool keyup q 2>/dev/null; }
closes() { # closes WHAT: Q closes the window with exit status 0 (5 s at most)
    quit_key
    for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
    if kill -0 $VPID 2>/dev/null; then bad "$1: Q did not close the window"; kill $VPID; wait $VPID 2>/dev/null
    else wait $VPID; rc=$?; check "[ $rc -eq 0 ]" "$1: closed cleanly with Q (exit $rc)"; fi
    VPID=""
}
# launch TITLE LOG WHAT N ARGS...: starts gptstep ARGS, waits for its window TITLE and an idle state; says
# "ok WHAT", or fails WHAT naming the N checks of the block that cannot run (returns 1)
launch() {
    title=$1 log=$2 what=$3 nchecks=$4
    shift 4
    rm -f "$GPTSTEP_STATE"
    "$GS" "$@" > "$log" 2>&1 &
    VPID=$!
    if ! wait_window "$title" $VPID || ! idle; then
        bad "$what ($nchecks checks not run)"; cat "$log"
        kill $VPID 2>/dev/null; VPID=""
        return 1
    fi
    ok "$what"
}
sanitizers() { grep -q "ERROR: AddressSanitizer\|runtime error\|WARNING: ThreadSanitizer" "$1" && bad "sanitizer report in $1"; }
cd "$DIR" || exit 1

# ---- the viewer at 1600x900 ----
start_x 1600x900
if launch gptstep view.log "the viewer opened with its model" 20 view --model "$MODEL" --seed 3; then
    t0=$(st "len(s['tokens'])")
    shot                                   # 1: as opened
    press Right; shot                      # 2: next token
    differs shot1.png shot2.png "next token (Right)"
    got=$(st "s['step'], len(s['tokens'])")
    check "[ \"$got\" = \"1 $((t0 + 1))\" ]" "Right generated one token (step, tokens: $got; expected 1, $((t0 + 1)))"
    press Down; press 3; shot              # 3: layer 1, head 3
    differs shot2.png shot3.png "change layer and head (Down, 3)"
    got=$(st "s['layer'], s['head']")
    check "[ \"$got\" = \"1 3\" ]" "Down then 3: layer 1, head 3 (got $got)"
    press g; shot                          # 4: all heads
    differs shot3.png shot4.png "open the grid (G)"
    check "[ \"$(st "s['main']")\" = grid ]" "G: the grid is shown"
    press Left; shot                       # 5: previous token
    differs shot4.png shot5.png "previous token (Left)"
    press g; press Right; shot             # 6: forward again: same as shot 3 (stepping back and forth is exact)
    check "same_pixels shot3.png shot6.png" "back and forward again shows the same frame"
    key e; key shift+e; sleep 1.5
    check "[ -s gptstep-001.png ] && /usr/bin/convert gptstep-001.png info:- >/dev/null 2>&1" "E exported a PNG that opens"
    wgeo=$(xdotool getwindowgeometry "$WID" | sed -n 's/ *Geometry: //p'); pgeo=$(/usr/bin/identify -format %wx%h gptstep-001.png 2>/dev/null)
    check "[ \"$pgeo\" = \"$wgeo\" ]" "E exported the screen at the window's size ($pgeo; the window is $wgeo)"
    check "pdfinfo gptstep-002.pdf >/dev/null 2>&1" "Shift+E exported a PDF that opens"
    key question; shot
    differs shot6.png shot7.png "help overlay (?)"
    key Escape; typed "view grid"; idle; settle
    geo=$(xdotool getwindowgeometry "$WID" | sed -n 's/ *Geometry: //p')
    # the mouse rests on a head first (its tooltip shows): the click must change more than hovering did
    xdotool mousemove --window "$WID" $((${geo%x*} / 3)) $((${geo#*x} / 3)) 2>/dev/null; settle; g0=shot$n.png
    xdotool click 3 2>/dev/null; idle; settle; g1=shot$n.png
    differs "$g0" "$g1" "right-click on a head in the grid changes the window"
    check "[ -n \"$(st "s['ablated']")\" ]" "right-click on a head in the grid knocks it out ($(st "s['ablated']"))"
    press d; settle; g2=shot$n.png
    differs "$g1" "$g2" "D changes the window"
    check "[ \"$(st "s['run_shown']")\" = clean ]" "D shows the clean run"
    press ctrl+x; settle; g3=shot$n.png
    check "st \"s['ablated']\" | grep -q '(mean)\$'" "Ctrl+X switches to mean ablation ($(st "s['ablated']"))"
    typed "attribute"; sleep 0.5; idle; settle; g4=shot$n.png
    differs "$g3" "$g4" ":attribute changes the window"
    got=$(st "s['experiment'], s['view']")
    check "[ \"$got\" = \"attribution experiment\" ]" ":attribute shows the experiment view (got $got)"
    closes "viewer"
fi
sanitizers view.log
if [ -s view.log ]; then echo "viewer output:"; sed 's/^/    /' view.log; fi

# ---- a lesson played with a clicker ----
# PageDown advances, PageUp returns to the same frame, Esc leaves it; presses faster than the steps run
# are kept and played in order (the step runs as the window's job: nothing else reads the run meanwhile).
if launch "gptstep lesson" lesson.log "the lesson window opened" 6 lesson "$ROOT/lessons/04-the-mask.lesson"; then
    settle; first=shot$n.png         # step 1, once the model has loaded and run
    steps=$(st "s['lesson']['progress'].split('/')[-1].split()[0]")
    press Next; settle; second=shot$n.png
    differs "$first" "$second" "lesson: PageDown changes the window"
    check "st \"s['lesson']['progress']\" | grep -q '^step 2 '" "lesson: PageDown advances to step 2 ($(st "s['lesson']['progress']"))"
    press Prior; settle
    check "same_pixels $first shot$n.png" "lesson: PageUp returns to exactly the same frame"
    want=$((steps < 6 ? steps : 6))
    xdotool key --delay 20 --window "$WID" Next Next Next Next Next 2>/dev/null
    for _ in $(seq 1 100); do st "s['lesson']['progress']" | grep -q "^step $want " && break; sleep 0.2; done
    check "st \"s['lesson']['progress']\" | grep -q '^step $want '" "lesson: five quick PageDowns reach step $want ($(st "s['lesson']['progress']"))"
    press Escape; press Right; settle
    differs "$first" "shot$n.png" "lesson: Esc leaves the lesson, Right then steps the viewer"
    closes "lesson window"
fi
sanitizers lesson.log
if [ -s lesson.log ]; then echo "lesson output:"; sed 's/^/    /' lesson.log; fi

# ---- the lecturer's console: a second window with the step's notes, never shown to the room ----
if launch "gptstep lesson" console.log "a lesson with its console opened" 5 lesson "$ROOT/lessons/03-self-attention.lesson" --console; then
    CWID=$(xdotool search --name "^gptstep console\$" 2>/dev/null | head -n 1)
    check "[ -n \"$CWID\" ]" "the console is a second window ('gptstep console')"
    press Next; press Next; settle
    cshot() { xwd -id "$CWID" -silent | /usr/bin/convert xwd:- "$1" 2>/dev/null; }
    sleep 1.2; cshot console1.png
    check "[ \"\$(/usr/bin/convert console1.png -format '%[fx:standard_deviation>0.05]' info: 2>/dev/null)\" = 1 ]" "the console shows something (not a blank window)"
    check "! st \"s.get('lesson', {}).get('caption', '') + s.get('message', '')\" | grep -q 'on the board'" "the room's window never shows the step's note"
    press Next; sleep 1.2; cshot console2.png
    differs console1.png console2.png "the console follows the lesson to its next step"
    closes "lesson window with its console"
fi
sanitizers console.log

# ---- two displays (a laptop's 1600x900 and a projector's 1280x720): the console takes the second ----
# SDL numbers Xvfb's two screens as displays 0 and 1, both at (0, 0): the console sized and centred for
# display 1 (3/4 of 1280x720 at +160+90) shows it chose the second display; SDL creates every window on
# the first X screen (it finds a window's display by its position), so where two monitors share one
# desktop side by side, as RandR and Wayland set them up, that position is on the second monitor.
start_x 1600x900 1280x720
if launch "gptstep lesson" console2.log "a lesson with its console, two displays" 2 lesson "$ROOT/lessons/03-self-attention.lesson" --console; then
    CWID=$(xdotool search --name "^gptstep console\$" 2>/dev/null | head -n 1)
    cgeo=$(xdotool getwindowgeometry "$CWID" 2>/dev/null | tr '\n' ' ' | sed 's/.*Position: \([0-9]*,[0-9]*\).*Geometry: \([0-9x]*\).*/\2+\1/')
    rgeo=$(xdotool getwindowgeometry "$WID" 2>/dev/null | sed -n 's/ *Geometry: //p')
    check "[ \"$cgeo\" = 960x540+160,90 ]" "the console is sized and placed for the second display, 1280x720 ($cgeo)"
    check "[ \"$rgeo\" != 960x540 ]" "the room's window stays sized for the first display ($rgeo)"
    closes "lesson window with its console, two displays"
fi
sanitizers console2.log

# ---- a 1280x720 display (a projector): the window fits it; presenter mode, zoom, Tab, the prompt editor ----
start_x 1280x720
if launch gptstep view720.log "the viewer opened on a 1280x720 display" 8 view --model "$MODEL" --seed 3; then
    geo=$(xdotool getwindowgeometry "$WID" | sed -n 's/ *Geometry: //p')
    gw=${geo%x*}; gh=${geo#*x}
    check "[ $gw -le 1280 ] && [ $gh -le 720 ]" "the window fits a 1280x720 display ($geo)"
    shot; a=shot$n.png
    press l; shot; b=shot$n.png
    differs "$a" "$b" "presenter mode (L)"
    check "[ \"$(st "s['presenter']")\" = True ]" "L: the state says presenter mode"
    v0=$(st "s['view']")
    press Tab; shot; c=shot$n.png
    check "[ \"$(st "s['view']")\" != \"$v0\" ]" "Tab shows the next view ($v0 -> $(st "s['view']"))"
    key shift+Tab; key plus; shot; d=shot$n.png
    differs "$b" "$d" "+ zooms the heatmap"
    key Return; sleep 0.3
    xdotool type --window "$WID" "The dragon flew" 2>/dev/null
    shot; e=shot$n.png
    differs "$d" "$e" "Enter opens the prompt editor"
    press Return; shot
    check "[ \"$(st "s['prompt']")\" = \"The dragon flew\" ]" "Enter runs the typed prompt"
    closes "1280x720"
fi
sanitizers view720.log

# ---- inputs that load a model but cannot run, or a model that cannot load: the window stays up with the
# message, and Q closes it cleanly ----
mkdir -p zero-width
/usr/bin/python3 -c "
d = open('$ROOT/tests/fuzz/regressions/checkpoint/zero-width-embedding', 'rb').read()
open('zero-width/model.safetensors', 'wb').write(d)"
long=$(seq 1 400 | tr '\n' ' ')
survive() { # survive WHAT MESSAGE ARGS...: the window opens (saying why it cannot run when MESSAGE is
    # "error"), keys work, Q closes it with status 0
    what=$1
    want=$2
    shift 2
    rm -f "$GPTSTEP_STATE"
    "$GS" view "$@" > bad.log 2>&1 &
    VPID=$!
    if ! wait_window gptstep $VPID; then
        bad "$what: no window"; sed 's/^/    /' bad.log; kill $VPID 2>/dev/null; VPID=""; return
    fi
    for _ in $(seq 1 100); do [ "$(st "not s['busy']")" = True ] && break; sleep 0.1; done
    msg=$(st "s['message']")
    key Right; key Return; key Escape; sleep 0.3
    if ! kill -0 $VPID 2>/dev/null; then bad "$what: the window died"; VPID=""; return; fi
    quit_key
    for _ in $(seq 1 50); do kill -0 $VPID 2>/dev/null || break; sleep 0.1; done
    if kill -0 $VPID 2>/dev/null; then bad "$what: Q did not close the window"; kill $VPID; wait $VPID 2>/dev/null; VPID=""; return; fi
    wait $VPID
    rc=$?
    VPID=""
    if [ $rc -eq 0 ] && ! grep -q "ERROR: AddressSanitizer\|runtime error" bad.log && { [ "$want" != error ] || [ -n "$msg" ]; }; then ok "$what: the window stayed up${msg:+ and said: $msg}"
    else bad "$what (exit $rc, message '$msg')"; sed 's/^/    /' bad.log; fi
}
survive "a prompt longer than the context" error --model "$MODEL" --prompt "$long"
survive "a prompt of invalid UTF-8" - --model "$MODEL" --prompt "$(printf 'bad \377')"
survive "-n past the context" error --model "$MODEL" --prompt "Hello" -n 500
survive "a model whose embedding has zero width" error --model "$DIR/zero-width"

# ---- no display: one line, at once, and no invisible window ----
start=$(date +%s)
env -u DISPLAY -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER timeout 20 "$GS" view --model "$MODEL" > nodisplay.log 2>&1
rc=$?
check "[ $rc -eq 1 ] && [ \$(( \$(date +%s) - start )) -le 5 ] && [ \$(wc -l < nodisplay.log) -eq 1 ] && grep -q 'no display.*gptstep render' nodisplay.log" \
    "no display: 'gptstep view' exits 1 at once with one line ($(cat nodisplay.log))"
env -u WAYLAND_DISPLAY -u SDL_VIDEODRIVER DISPLAY=:987 timeout 20 "$GS" lesson "$ROOT/lessons/04-the-mask.lesson" > nodisplay2.log 2>&1
rc=$?
check "[ $rc -eq 1 ] && [ \$(wc -l < nodisplay2.log) -eq 1 ] && grep -q 'cannot be reached.*--pdf' nodisplay2.log" \
    "an unreachable display: 'gptstep lesson' exits 1 with one line"
echo "window: $passed passed, $fails failed"
[ $fails -eq 0 ] && [ $passed -gt 0 ]
