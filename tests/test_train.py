#!/usr/bin/python3
"""The training tools (tools/train/) on a tiny run, as a user runs them:
- an interrupted run (--stop-at) continued with --resume ends with exactly the weights of the same run
  made in one go, with passages told twice (--repeat-frac) and without, in float32 (--no-bf16) and bf16;
- the windows --repeat-frac makes are a passage and then the same text again;
- --init-from starts a run from exactly an exported model's weights, which then train on;
- the loss falls, and log.csv has a row per evaluation;
- export.py's model directory runs in gptstep with the logits of the PyTorch model it came from
  (<= 1e-4 of the largest logit): train.py's GPT-2 is the one the C decoder runs;
- evaluate.py's oneDNN float32 path gives the plain model's loss, and its passages-told-twice loss
  is what a perfect copier would pay.

    tests/test_train.py GPTSTEP OUTDIR
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TRAIN = os.path.join(ROOT, "tools", "train")
sys.path.insert(0, HERE)
sys.path.insert(0, TRAIN)
try:
    import torch
except ImportError:
    print("PyTorch is missing: sudo apt-get install python3-torch (make test installs it)")
    sys.exit(1)
import gpt2_ref  # noqa: E402
from prepare import write_tokens  # noqa: E402
from train import GPT2, batch  # noqa: E402
from evaluate import told_twice  # noqa: E402

PY = "/usr/bin/python3"
TINY = ["--layers", "2", "--heads", "2", "--embd", "32", "--ctx", "32", "--batch", "4", "--tokens", str(40 * 4 * 32),
        "--warmup", "5", "--lr", "1e-2", "--eval-every", "10", "--eval-windows", "8", "--ckpt-every", "10", "--threads", "2"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def train(data, run, *extra):
    r = subprocess.run([PY, os.path.join(TRAIN, "train.py"), "--data", data, "--out", run] + TINY + list(extra),
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        raise SystemExit(f"train.py {' '.join(extra)} failed")
    return r.stdout


def weights(run):
    return torch.load(os.path.join(run, "checkpoint.pt"), map_location="cpu")


def seams(x):
    """For each window, the places where its tokens (consecutive ids in the test's stream) jump."""
    return [[i for i in range(1, len(r)) if r[i] != r[i - 1] + 1] for r in x.tolist()]


def text_like(n, seed):
    """A token stream with something to learn: the same 60 phrases (a few hundred ids) in an order
    that depends on seed."""
    p = np.random.default_rng(0)
    phrases = [p.integers(0, 50257, size=p.integers(3, 9)) for _ in range(60)]
    rng = np.random.default_rng(seed)
    out = []
    while len(out) < n:
        out.extend(phrases[rng.integers(0, len(phrases))])
    return np.array(out[:n])


def main():
    gs, out = sys.argv[1], os.path.join(sys.argv[2], "train")
    shutil.rmtree(out, ignore_errors=True)
    data = os.path.join(out, "data")
    os.makedirs(data)
    write_tokens(os.path.join(data, "train.bin"), text_like(20000, 1))
    write_tokens(os.path.join(data, "val.bin"), text_like(4000, 2))

    # batch(): a repeated window is a passage of n tokens, then the same text again from its start
    tokens = np.arange(100000)
    x, y = batch(tokens, np.random.default_rng(0), 64, 256, "cpu", 0.5)
    jumps = seams(x)
    repeated = [(r, s[0]) for r, s in zip(x.tolist(), jumps) if s]
    check(all(len(s) <= 1 for s in jumps) and 16 <= len(repeated) <= 48
          and all(16 <= n <= 128 and r[n:2 * n] == r[:n] for r, n in repeated)
          and bool((y[:, :-1] == x[:, 1:]).all()),
          f"--repeat-frac 0.5: {len(repeated)} of 64 windows tell a passage of 16-128 tokens twice")
    x0, _ = batch(tokens, np.random.default_rng(0), 64, 256, "cpu")
    check(not any(seams(x0)),
          "without --repeat-frac every window is running text")

    for name, extra in (("plain", ["--no-bf16"]), ("repeat", ["--repeat-frac", "0.5"])):
        whole, parts = os.path.join(out, name + "-whole"), os.path.join(out, name + "-parts")
        log = train(data, whole, *extra)
        train(data, parts, *extra, "--stop-at", "17")
        train(data, parts, "--resume")
        a, b = weights(whole), weights(parts)
        same = a["step"] == b["step"] == 40 and all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"])
        check(same, f"{name}: stopped at step 17 and resumed = the same run in one go (all weights equal at step 40)"
              + (" (float32 kept on resume)" if "--no-bf16" in extra else ""))
        if name == "plain":
            rows = open(os.path.join(whole, "log.csv")).read().split("\n")[1:-1]
            first, last = float(rows[0].split(",")[3]), float(rows[-1].split(",")[3])
            check(len(rows) == 4 and last < first - 1.0,
                  f"{name}: log.csv has 4 evaluations, validation loss {first:.2f} -> {last:.2f}")
        else:
            check("50% of windows tell a passage twice" in log, f"{name}: train.py says it repeats passages")

    # export -> gptstep: the C decoder's logits are the PyTorch model's
    run = os.path.join(out, "plain-whole")
    model_dir = os.path.join(out, "tiny-model")
    subprocess.run([PY, os.path.join(TRAIN, "export.py"), os.path.join(run, "checkpoint.pt"), model_dir,
                    "--dtype", "F32"], check=True, capture_output=True)
    ck = weights(run)
    c = ck["config"]
    model = GPT2(c["n_layer"], c["n_head"], c["n_embd"], c["n_ctx"])
    model.load_state_dict(ck["model"])
    model.eval()
    path = os.path.join(out, "tiny.trace")
    subprocess.run([gs, "trace", "--model", model_dir, "--prompt", "Once upon a time there was a little", "-n", "0",
                    "-o", path], check=True, capture_output=True)
    tr = gpt2_ref.read_trace(path)
    ids = [p["token"] for p in tr["positions"]]
    got = np.stack([p["tensors"]["logits"] for p in tr["positions"]]).astype(np.float64)
    with torch.no_grad():
        want = model(torch.tensor([ids]))[0].double().numpy()
    rel = np.abs(got - want).max() / np.abs(want).max()
    check(rel <= 1e-4, f"exported model in gptstep: logits at all {len(ids)} positions match PyTorch's "
                       f"(max rel error {rel:.1e})")

    # --init-from: a new run starts from an exported model directory's weights, then trains on
    init = os.path.join(out, "init-from")
    train(data, init, "--init-from", model_dir, "--stop-at", "0")
    start = weights(init)
    check(start["step"] == 0 and all(torch.equal(start["model"][k], ck["model"][k]) for k in ck["model"]),
          "--init-from: the new run starts from exactly the exported weights")
    train(data, init, "--resume", "--stop-at", "10")
    moved = weights(init)
    check(moved["step"] == 10 and not torch.equal(moved["model"]["wte.weight"], ck["model"]["wte.weight"]),
          "--init-from: ... and trains on from there (resumed to step 10)")
    r = subprocess.run([PY, os.path.join(TRAIN, "train.py"), "--data", data, "--out", init, "--resume",
                        "--init-from", model_dir], capture_output=True, text=True)
    check(r.returncode == 2 and "give one of them" in r.stderr, "--init-from with --resume is refused")

    # evaluate.py: oneDNN float32 and the plain model agree (it reads 256-token windows)
    write_tokens(os.path.join(data, "val.bin"), text_like(8 * 256 + 1, 3))
    ck["config"]["n_ctx"] = 256  # a model with room for evaluate.py's windows: positions from the tiny one
    model256 = GPT2(c["n_layer"], c["n_head"], c["n_embd"], 256)
    state = dict(ck["model"])
    state["wpe.weight"] = torch.cat([state["wpe.weight"]] * 8)
    model256.load_state_dict(state)
    ck["model"] = model256.state_dict()
    torch.save(ck, os.path.join(out, "ctx256.pt"))
    losses, twice = [], []
    for extra in ([], ["--generic-blas"]):
        r = subprocess.run([PY, os.path.join(TRAIN, "evaluate.py"), os.path.join(out, "ctx256.pt"), data,
                            "--repeat", "4"] + extra, capture_output=True, text=True, check=True)
        losses.append(float(r.stdout.split("validation loss ")[1].split()[0]))
        twice.append([float(x) for x in re.findall(r"([0-9.]+) nats/token the first time, ([0-9.]+) the second",
                                                   r.stdout)[0]])
    check(abs(losses[0] - losses[1]) <= 2e-4 and 0 < losses[0] < 11,
          f"evaluate.py: oneDNN {losses[0]:.4f} = plain PyTorch {losses[1]:.4f} nats/token over 8 windows")
    check(np.allclose(twice[0], twice[1], atol=2e-3) and all(0 < x < 11 for x in twice[0]),
          f"evaluate.py --repeat: passages told twice {twice[0][0]:.3f} then {twice[0][1]:.3f}, the same in both paths")
    # told_twice() itself: a "model" that knows the passage's tokens from its first telling on
    val = np.arange(1000, 2000)
    def copier(idx):
        logits = torch.zeros(*idx.shape, 50257)
        for b, row in enumerate(idx.tolist()):
            for j in range(len(row)):
                earlier = [k for k in range(j) if row[k] == row[j]]
                if earlier:  # the token that followed the earlier copy: what an induction head predicts
                    logits[b, j, row[earlier[0] + 1]] = 50.0
        return logits
    first, again = told_twice(copier, val, 3)
    check(abs(first - np.log(50257)) < 1e-3 and again < 1e-3,
          f"told_twice: a perfect copier pays log(50257) the first time ({first:.3f}) and nothing the second ({again:.4f})")

    print("training tools: all checks passed" if not failures else f"training tools: {len(failures)} checks failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
