#!/usr/bin/python3
"""The model that ships (models/storybook): its weights are the ones the model card describes
(SHA-256), gptstep's logits agree with the independent NumPy reference at every position of several
prompts (<= 1e-4 of the largest logit), and a 50-token greedy continuation is the same token for token.

    tests/test_storybook.py GPTSTEP OUTDIR
"""
import hashlib
import os
import re
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gpt2_ref  # noqa: E402

ROOT = os.path.dirname(HERE)
MODEL = os.path.join(ROOT, "models", "storybook")
PROMPTS = ["Once upon a time there was a", "The king said to his daughter,", "\"Oh dear!\" cried Alice. \"I shall be late\"",
           "Far away, beyond the seven mountains, there lived"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def main():
    gs, out = sys.argv[1], sys.argv[2]
    card = open(os.path.join(MODEL, "MODEL_CARD.md"), encoding="utf-8").read()
    m = re.search(r"SHA-256: `([0-9a-f]{64})`", card)
    with open(os.path.join(MODEL, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    check(m is not None and m.group(1) == sha, f"model.safetensors SHA-256 {sha[:16]}... matches MODEL_CARD.md")
    ref = gpt2_ref.Reference(MODEL)
    for prompt in PROMPTS:
        path = os.path.join(out, "storybook.trace")
        subprocess.run([gs, "trace", "--model", MODEL, "--prompt", prompt, "-n", "0", "-o", path], check=True,
                       capture_output=True)
        tr = gpt2_ref.read_trace(path)
        tokens = [p["token"] for p in tr["positions"]]
        want = ref.forward(tokens)["logits"]
        got = np.stack([p["tensors"]["logits"] for p in tr["positions"]]).astype(np.float64)
        rel = np.abs(got - want).max() / np.abs(want).max()
        check(rel <= 1e-4, f"logits at all {len(tokens)} positions of {prompt!r}: max rel error {rel:.2e}")
    prompt = PROMPTS[0]
    r = subprocess.run([gs, "generate", "--model", MODEL, "--prompt", prompt, "-n", "50", "--greedy", "--ids"],
                       capture_output=True, text=True, check=True)
    got = [int(x) for x in r.stdout.split()]
    n_prompt = len(got) - 50
    want = ref.greedy(got[:n_prompt], 50)
    same = sum(a == b for a, b in zip(got, want))
    check(got == want, f"50-token greedy continuation equals the reference's ({same}/{len(want)} tokens agree)")
    print(f"storybook: {len(PROMPTS) + 2 - len(failures)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
