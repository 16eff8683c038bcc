#!/usr/bin/python3
"""gptstep's tokenizer against the independent Python reference (tests/ref_tokenizer.py, the
encoder.py algorithm with the `regex` module) on varied real text and on random strings built from
the characters where tokenizers usually disagree (Unicode spaces, marks, digits, contractions).

    tests/test_tokenizer_ref.py GPTSTEP
"""
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ref_tokenizer import Encoder  # noqa: E402

TRICKY = ("\x0b\x0c\x1c\x1f\x85\xa0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u180e\u200b\ufeff"
          "²½Ⅻ\u0301é\u0e01\u0e31a1 \t\n\r'sS'LL'll'VE-.,😀ǅ٣日本")


def gptstep_ids(gs, text):
    r = subprocess.run([gs, "tokens", "--ids", "--no-special", "--file", "-"], input=text.encode(),
                       capture_output=True, check=True)
    return [int(x) for x in r.stdout.split()]


def main():
    gs = sys.argv[1]
    enc = Encoder(os.path.join(os.path.dirname(HERE), "models", "tokenizer"))
    failures = 0
    sample = open(os.path.join(HERE, "data", "sample.txt"), encoding="utf-8").read()
    want, got = enc.encode(sample), gptstep_ids(gs, sample)
    print(f"sample.txt: {len(want)} tokens, {'same' if want == got else 'DIFFERENT'}")
    failures += want != got
    rng = random.Random(42)
    strings = ["".join(rng.choice(TRICKY) for _ in range(rng.randint(1, 16))) for _ in range(300)]
    bad = 0
    for s in strings:
        if enc.encode(s) != gptstep_ids(gs, s):
            bad += 1
            if bad <= 5:
                print(f"differs: {s!r}: reference {enc.encode(s)}, gptstep {gptstep_ids(gs, s)}")
    print(f"random tricky strings: {len(strings) - bad}/{len(strings)} agree")
    failures += bad
    print(f"tokenizer reference: {len(strings) + 1 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
