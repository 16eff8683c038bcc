#!/usr/bin/python3
"""Known greedy outputs of the real GPT-2 small (docs/gpt2-facts.md section 6), checked when models/gpt2 has
been downloaded (`make gpt2`); otherwise skipped (exit 77) with a one-line message.

    tests/test_gpt2_real.py GPTSTEP
"""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(os.environ.get("GPTSTEP_MODELS", os.path.join(ROOT, "models")), "gpt2")

# (prompt, new tokens, expected full text) from transformers' tests, the HF blog and picoGPT's README
CASES = [
    ("Hello, my dog is a little", 13, "Hello, my dog is a little bit of a mess. I'm not sure if he's going"),
    ("Today, I", 13, "Today, I'm going to be doing a lot of research on this. I"),
    ("I enjoy walking with my cute dog", 43, "I enjoy walking with my cute dog, but I'm not sure if I'll ever be able "
     "to walk with my dog. I'm not sure if I'll ever be able to walk with my dog.\n\nI'm not sure if I'll"),
]
TURING = ("Alan Turing theorized that computers would one day become", 40,
          " the most powerful machines on the planet.\n\nThe computer is a machine that can perform complex "
          "calculations, and it can perform these calculations in a way that is very similar to the human brain.")
DOG_IDS = [464, 3290, 373, 1043, 287, 257, 2214, 1474, 262, 16246, 286, 2688, 290, 2688, 27262, 13, 198, 198, 464, 3290]


def generate(gs, prompt, n, ids=False):
    args = [gs, "generate", "--model", MODEL, "--prompt", prompt, "-n", str(n), "--greedy"] + (["--ids"] if ids else [])
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def main():
    gs = sys.argv[1]
    if not os.path.exists(os.path.join(MODEL, "model.safetensors")):
        print("skipped: real GPT-2 small not downloaded (run 'make gpt2' to check its known greedy outputs)")
        sys.exit(77)
    failed = 0
    got = [int(x) for x in generate(gs, "The dog", 18, ids=True).split()]
    ok = got == DOG_IDS
    failed += not ok
    print(("ok   " if ok else "FAIL ") + f"'The dog' greedy ids {got}")
    for prompt, n, want in CASES:
        out = generate(gs, prompt, n)[:-1]  # the trailing newline gptstep adds
        ok = out == want
        failed += not ok
        print(("ok   " if ok else "FAIL ") + repr(out))
    prompt, n, want = TURING
    out = generate(gs, prompt, n)[:-1]
    ok = out.startswith(prompt + want)  # the README shows 39 of the 40 tokens
    failed += not ok
    print(("ok   " if ok else "FAIL ") + repr(out))
    print(f"real gpt2: {5 - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
