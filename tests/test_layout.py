#!/usr/bin/env python3
"""test_layout.py - the viewer's layout, checked from what cairo wrote into PDF files: every view, in
normal and presenter mode, at 1280x720, 1920x1080, 3840x2160 and 1024x768 (a 4:3 projector), with the shipped model and random
models with GPT-2 small's and GPT-2 XL's layer, head, vocabulary and context counts. From the words and
their boxes (pdftotext -bbox), for every page:
  - no two words overlap;
  - every word lies inside a panel of the page (the header, a view, the caption);
  - every word is at least the mode's smallest text: in presenter mode 1/40 of the canvas height,
    and presenter mode's body text is at least 1/28 of it;
and from the pages rasterised (pdftoppm), for every presenter-mode page whose view shows its content
(not a line saying what to do first: the index's placeholder column):
  - what the view draws spans at least 80% of its panel's width and of its height;
  - it is no smaller than the same view in the normal layout at that size: in each direction it spans
    at least KEEP (9/10) of the share of its panel it spans there.
    usage: test_layout.py GPTSTEP OUT_DIR [--quick]     (--quick: the shipped model only)
"""
import html
import multiprocessing
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import gpt2_ref  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# DejaVu Sans: a word's box (ascent + descent) is 1.164 times the font size
BOX_PER_SIZE = 1.164


def layout_model(folder, n_layer, n_head, n_embd, n_ctx, seed):
    """A random model with the given layer, head and context counts and the real vocabulary, narrow
    (n_embd small) and in float16 so that it stays small; what the layout depends on is the counts."""
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        return folder
    t = gpt2_ref.random_gpt2(n_layer, n_head, n_embd, n_ctx, seed=seed)
    t = {k: v for k, v in t.items() if not re.fullmatch(r"h\.\d+\.attn\.bias", k)}  # the mask buffer is not needed
    gpt2_ref.write_model(folder, t, dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_positions=n_ctx,
                                         vocab_size=50257), dtype="F16")
    return folder


def words(pdf):
    out = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True, check=True).stdout
    pages = []
    for page in out.split("<page ")[1:]:
        ws = []
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>', page):
            x0, y0, x1, y1 = map(float, m.groups()[:4])
            ws.append((x0, y0, x1, y1, html.unescape(m.group(5))))
        pages.append(ws)
    return pages


def font_size(w):
    """The font size of a word from its box: the box's height for horizontal text; its width for text
    rotated a quarter turn (a horizontal word of n characters is 0.2n to 1.1n sizes wide)."""
    width, height, n = w[2] - w[0], w[3] - w[1], max(1, len(w[4]))
    s = height / BOX_PER_SIZE
    return s if 0.2 * n * s <= width <= 1.1 * n * s else width / BOX_PER_SIZE


def overlap(a, b, tol=0.6):
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


def inside(w, r, tol=1.0):
    x, y, rw, rh = r
    return w[0] >= x - tol and w[1] >= y - tol and w[2] <= x + rw + tol and w[3] <= y + rh + tol


FILL = 0.8  # presenter mode: a view spans this share of its panel's width and height
# ... and in each direction at least this share of what it spans of its panel in the normal layout at
# the same size (presenter mode's larger header leaves its panel 5-10% shorter: the shares are compared,
# not the sizes); a view shrunk to a thumbnail (the 4:3 attention view once was, a fifth of its normal
# size) fails
KEEP = 0.9


def drawn_extent(args):
    """The width and height (page units) of what is drawn inside the view's panel: the box around every
    pixel that differs from the panel's own colour, the panel's border left out. args: (path, W, rect)."""
    import numpy as np
    path, W, rect = args
    px = 640
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["pdftoppm", "-scale-to-x", str(px), "-scale-to-y", "-1", "-singlefile", path, os.path.join(d, "p")],
                       check=True)
        data = open(os.path.join(d, "p.ppm"), "rb").read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+\d+\s", data)
    w, h = int(m.group(1)), int(m.group(2))
    img = np.frombuffer(data[m.end():], dtype=np.uint8).reshape(h, w, 3).astype(int)
    s = w / W
    x, y, rw, rh = rect
    inset = 3  # pixels: the panel's border and its antialiasing
    x0, y0 = int(x * s) + inset, int(y * s) + inset
    x1, y1 = int((x + rw) * s) - inset, int((y + rh) * s) - inset
    sub = img[y0:y1, x0:x1]
    colours, counts = np.unique(sub.reshape(-1, 3), axis=0, return_counts=True)
    mask = np.abs(sub - colours[counts.argmax()]).sum(axis=2) > 24
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0.0, 0.0
    return (xs.max() - xs.min() + 1) / s, (ys.max() - ys.min() + 1) / s


def view_panel(panels):
    """The view's panel: the largest, the header (id -1) left out."""
    rects = [tuple(map(float, p.split(":")[1].split(","))) for p in panels.split(";") if p and not p.startswith("-1:")]
    return max(rects, key=lambda r: r[2] * r[3]) if rects else None


def check_fill(lines):
    """Presenter pages: the view spans FILL of its panel and is no smaller than in the normal layout.
    Returns {path: [problems]}."""
    pages = {}
    for line in lines:
        path, W, H, presenter, placeholder, _, _, panels = line.rstrip("\n").split("\t")
        name = os.path.basename(path)
        if "-all-" in name or placeholder == "1":
            continue
        rect = view_panel(panels)
        if rect:
            pages[path] = (int(presenter), int(W), rect)
    with multiprocessing.Pool(os.cpu_count() or 2) as pool:
        extents = dict(zip(pages, pool.map(drawn_extent, [(p, W, r) for p, (_, W, r) in pages.items()])))
    out = {}
    for path, (presenter, W, rect) in pages.items():
        if not presenter:
            continue
        ew, eh = extents[path]
        problems = []
        if ew < FILL * rect[2] or eh < FILL * rect[3]:
            problems.append(f"the view spans {ew / rect[2]:.0%} of its panel's width and {eh / rect[3]:.0%} of its height "
                            f"(presenter mode: at least {FILL:.0%} of each)")
        normal = path.replace("-presenter.pdf", "-normal.pdf")
        if normal in extents:  # each direction, as a share of the panel (presenter mode's is shorter)
            (nw, nh), nrect = extents[normal], pages[normal][2]
            sw, sh = (ew / rect[2]) / max(nw / nrect[2], 1e-9), (eh / rect[3]) / max(nh / nrect[3], 1e-9)
            if sw < KEEP or sh < KEEP:
                problems.append(f"the view is smaller than in the normal layout: {ew:.0f} x {eh:.0f} of a {rect[2]:.0f} x "
                                f"{rect[3]:.0f} panel against {nw:.0f} x {nh:.0f} of {nrect[2]:.0f} x {nrect[3]:.0f}")
        if problems:
            out[path] = problems
    return out, len(pages)


def check_file(line):
    path, W, H, presenter, _, fs, fs_min, panels = line.rstrip("\n").split("\t")
    W, H, presenter, fs_min = int(W), int(H), int(presenter), float(fs_min)
    rects = []
    for p in panels.split(";"):
        if p:
            _, box = p.split(":")
            rects.append(tuple(map(float, box.split(","))))
    problems = []
    ws = words(path)[0]
    if not ws:
        problems.append("the page has no words at all (a blank view, or cairo in its error state)")
    smallest = H / 40.0 if presenter else fs_min
    if presenter and float(fs) < H / 28.0 - 0.01:  # the back of a room: body text 1/28 of the height, at any aspect
        problems.append(f"presenter body text {float(fs):.1f} px is under 1/28 of the height ({H / 28.0:.1f})")
    for i, w in enumerate(ws):
        if not any(inside(w, r) for r in rects):
            problems.append(f"'{w[4]}' at ({w[0]:.0f},{w[1]:.0f})-({w[2]:.0f},{w[3]:.0f}) leaves every panel")
        size = font_size(w)
        if size < smallest * 0.98:
            problems.append(f"'{w[4]}' is {size:.1f} pt, smaller than {smallest:.1f}")
        for u in ws[i + 1:]:
            if overlap(w, u):
                problems.append(f"'{w[4]}' and '{u[4]}' overlap at ({w[0]:.0f},{w[1]:.0f})")
    problems += rank_column(ws)
    return path, len(ws), problems


def rank_column(ws):
    """The distribution's table: every row has its rank number, 1, 2, 3, ... down the '#' column."""
    out = []
    for h in ws:
        if h[4] != "#":
            continue
        tok = [u for u in ws if u[4] == "token" and abs(u[3] - h[3]) < 2 and u[0] > h[0]]
        if not tok:
            continue
        t = min(tok, key=lambda u: u[0])
        below = [u for u in ws if u[1] > h[3] - 1]
        labels = sorted((u for u in below if abs(u[0] - t[0]) < 2), key=lambda u: u[1])
        rows = []
        for u in labels:  # the rows run down until the first line that is not a row
            if rows and u[1] - rows[-1][3] > (u[3] - u[1]) * 1.5:
                break
            rows.append(u)
        nums = sorted((u for u in below if h[0] - 2 <= u[0] and u[2] <= t[0] + 0.5 and u[4].isdigit()
                       and rows and u[1] <= rows[-1][3]), key=lambda u: u[1])
        got = [int(u[4]) for u in nums]
        if got != list(range(1, len(rows) + 1)):
            out.append(f"the distribution's {len(rows)} rows are numbered {got}")
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    gs, out = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv
    build = os.environ.get("GPTSTEP_TEST_BUILD", "build")
    models = ["storybook=" + os.path.join(ROOT, "models", "storybook")]
    if not quick:
        models.append("small=" + layout_model(os.path.join(out, "layout-small"), 12, 12, 96, 1024, 11))
        models.append("xl=" + layout_model(os.path.join(out, "layout-xl"), 48, 25, 100, 1024, 12))
    d = os.path.join(out, "layout")
    r = subprocess.run([os.path.join(build, "tests", "viz_layout"), d] + models, capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    sys.stderr.write(r.stderr)
    if r.returncode:
        print("layout: rendering failed")
        return 1
    passed = failed = total_words = 0
    with open(os.path.join(d, "index.tsv")) as f:
        lines = f.readlines()
    fills, rastered = check_fill(lines)
    for line in lines:
        path, n, problems = check_file(line)
        problems += fills.get(path, [])
        total_words += n
        if problems:
            failed += 1
            print(f"FAIL {os.path.basename(path)}: {len(problems)} problems")
            for p in problems[:6]:
                print("     " + p)
        else:
            passed += 1
    print(f"{total_words} words checked; {rastered} pages rasterised for how much of its panel a view fills")
    print(f"layout: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
