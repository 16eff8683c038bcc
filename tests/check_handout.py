#!/usr/bin/env python3
"""check_handout.py - a lesson handout is for paper: every page is A4 or Letter, and no word on it is
smaller than 7 pt (labels) — read from the words and boxes cairo wrote (pdftotext -bbox).
    check_handout.py FILE.pdf [a4|letter]
"""
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from test_layout import font_size, words  # noqa: E402

SIZES = {"a4": (595.28, 841.89), "letter": (612.0, 792.0)}


def main():
    pdf, paper = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "a4"
    info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    size = [l for l in info.splitlines() if l.startswith("Page size:")][0].split()
    w, h = float(size[2]), float(size[4])
    want = SIZES[paper]
    if sorted((round(w), round(h))) != sorted((round(want[0]), round(want[1]))):
        print(f"{pdf}: pages are {w} x {h} pt, not {paper}")
        return 1
    smallest, where = 99.0, ""
    for i, ws in enumerate(words(pdf)):
        for wd in ws:
            s = font_size(wd)
            if s < smallest:
                smallest, where = s, f"page {i + 1}: '{wd[4]}'"
    if smallest < 6.9:
        print(f"{pdf}: {where} is {smallest:.1f} pt, smaller than 7 pt")
        return 1
    print(f"{pdf}: {paper} pages, smallest text {smallest:.1f} pt ({where})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
