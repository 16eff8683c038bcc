#!/usr/bin/python3
"""The gptstep command line as a user meets it: every subcommand, its --help, and a clear one-line
error (never a crash) for bad input. Also the shipped vocabulary's SHA-256s and the download script's
offline parts (arguments, the hash check on a local file, the no-network message).

    tests/test_cli.py GPTSTEP OUTDIR      (OUTDIR holds the tiny models test_forward.py wrote)
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
failures = []
passes = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    (passes if cond else failures).append(what)


def run(args, input=None, env=None):
    e = dict(os.environ, **(env or {}))
    r = subprocess.run(args, capture_output=True, input=input, env=e, timeout=600)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def one_line_error(rc, err, needle, what):
    lines = [line for line in err.splitlines() if line.strip()]
    check(rc not in (0, -11, -6) and len(lines) == 1 and needle in err, f"{what}: rc {rc}, '{err.strip()}'")


def main():
    gs, out = sys.argv[1], sys.argv[2]
    tiny = os.path.join(out, "tiny-f32")

    # --help everywhere
    rc, o, _ = run([gs, "--help"])
    check(rc == 0 and "commands:" in o, "gptstep --help")
    for cmd in ("tokens", "generate", "trace", "dump", "info", "heads", "view", "render", "lesson"):
        rc, o, _ = run([gs, cmd, "--help"])
        check(rc == 0 and o.startswith("usage: gptstep " + cmd), f"gptstep {cmd} --help")
    rc, _, e = run([gs, "frobnicate"])
    one_line_error(rc, e, "unknown command 'frobnicate'", "unknown command")

    # tokens
    rc, o, _ = run([gs, "tokens", "--ids", "Hello, I'm a language model,"])
    check(rc == 0 and o.strip() == "15496 11 314 1101 257 3303 2746 11", "tokens --ids")
    rc, o, _ = run([gs, "tokens", "hello world"])
    check(rc == 0 and "31373" in o and "' world'" in o and "20 77 6f 72 6c 64" in o and "2 tokens" in o, "tokens table")
    bad = os.path.join(out, "bad-utf8.txt")
    with open(bad, "wb") as f:
        f.write(b"fine text \xff\xfe broken")
    rc, _, e = run([gs, "tokens", "--file", bad])
    one_line_error(rc, e, "invalid UTF-8 at byte 10", "tokens on invalid UTF-8")
    rc, o, _ = run([gs, "tokens", "--ids", "--file", "-"], input="from stdin".encode())
    check(rc == 0 and o.strip() == "6738 14367 259", "tokens from standard input")
    rc, _, e = run([gs, "tokens"])
    one_line_error(rc, e, "give either TEXT or --file", "tokens without text")
    rc, _, e = run([gs, "tokens", "--file", "/nonexistent.txt"])
    one_line_error(rc, e, "/nonexistent.txt: cannot open", "tokens on a missing file")

    # generate
    rc, o, _ = run([gs, "generate", "--model", tiny, "--prompt", "Hello", "-n", "5", "--greedy", "--ids"])
    ids = o.split()
    check(rc == 0 and len(ids) == 6 and ids[0] == "15496", f"generate --ids prints prompt and 5 new ids ({o.strip()})")
    # --verbose: where the time went, with the counts of what ran (3 prompt tokens, 4 decode steps after the
    # prompt's own choice) and parts that add up to no more than the total
    rc, o, e = run([gs, "generate", "--model", tiny, "--prompt", "Hello there you", "-n", "5", "--greedy", "--verbose"])
    # (the load's parts: the model, the tokenizer, then the memory of the first run made ready: the
    # prompt's 3 positions and the 4 after them)
    m = re.search(r"load ([\d.]+) s \(model ([\d.]+) s.*tokenizer ([\d.]+) s; memory for 7 positions ([\d.]+) s\).*"
                  r"prefill 3 tokens ([\d.]+) s.*decode 4 tokens ([\d.]+) s.*total ([\d.]+) s", e)
    check(rc == 0 and m is not None and float(m[2]) + float(m[3]) + float(m[4]) <= float(m[1]) + 0.002 and
          float(m[1]) + float(m[5]) + float(m[6]) <= float(m[7]) + 0.003 and e.count("\n") == 1,
          f"generate --verbose gives one line of load, prefill and decode times ({e.strip()[:160]})")
    # a prompt file that is a pipe can be read once only: the prompt must still be the whole text
    # (the first run's memory is made ready at open from regular files alone)
    rc, o, e = run([gs, "generate", "--model", tiny, "--prompt-file", "/dev/stdin", "-n", "5", "--greedy", "--ids"],
                   input=b"Hello")
    check(rc == 0 and o.split()[:1] == ["15496"] and len(o.split()) == 6,
          f"generate --prompt-file /dev/stdin (a pipe) reads the prompt ({o.strip()}{e.strip()[:120]})")
    rc, o0, _ = run([gs, "generate", "--model", tiny, "--prompt", "Hello there", "-n", "0"])
    check(rc == 0 and o0.strip() == "Hello there", "generate -n 0 runs the prompt only")
    rc, o, _ = run([gs, "generate", "--model", tiny, "--unconditional", "-n", "3", "--ids", "--seed", "3"])
    check(rc == 0 and o.split()[0] == "50256" and len(o.split()) == 4, "unconditional starts from <|endoftext|>")
    rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "x " * 140, "-n", "1"])
    one_line_error(rc, e, "longer than the model's 128-token context", "prompt past the context")
    # numbers are read whole and range-checked: past the range of an int they are errors, never wrapped
    # (sscanf's %d read 4294967297 as 1 and knocked out head 1.0; 1e20 was reported as "layer -1")
    for spec, needle in (("4294967297.0", "layer 4294967297 is out of range"), ("1.4294967296", "head 4294967296 is out of range"),
                         ("99999999999999999999.0", "layer 99999999999999999999 is out of range"),
                         ("0.mlp.18446744073709551616", "neuron 18446744073709551616 is out of range"),
                         ("1.2x", "expected L.H")):
        rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "Hello", "-n", "1", "--ablate", spec])
        one_line_error(rc, e, needle, f"--ablate {spec}")
    # an option without its value: one line naming it (getopt's own message and an "unknown option" that
    # named nothing made two)
    for cmd in ("generate", "trace", "render", "view", "lesson", "patch"):
        rc, _, e = run([gs, cmd, "--model"])
        one_line_error(rc, e, "--model needs a value", f"{cmd} --model without its value")
    rc, _, e = run([gs, "render", "--frobnicate"])
    one_line_error(rc, e, "unknown option '--frobnicate'", "an unknown option is named")
    # a token with a newline and a terminal escape: echoed visibly, on one line
    rc, _, e = run([gs, "attribute", "--model", tiny, "--prompt", "Hello", "--token", "a\nb\x1b[31m"])
    one_line_error(rc, e, "a\\nb\\x1b[31m", "attribute --token with control characters")
    # 64 ablations of neurons with the mean mode: the saved trace keeps the whole list and the mode
    specs = []
    for i in range(64):
        specs += ["--ablate", "1.mlp.%d" % (i * 3)]
    path = os.path.join(out, "many-ablations.trace")
    rc, _, e = run([gs, "trace", "--model", tiny, "--prompt", "Hello", "-n", "1", "--ablate-mode", "mean", "-o", path] + specs)
    rc2, o, _ = run([gs, "dump", path])
    check(rc == 0 and rc2 == 0 and ("1.mlp.%d (mean)" % (63 * 3)) in o, "64 ablations survive in a trace with their mode")
    # render as generate: a part named twice is off once (render toggled it back on), a 65th is refused
    state = os.path.join(out, "twice.json")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hello", "--ablate", "1.1", "--ablate", "1.1", "--view", "all",
                    "-o", os.path.join(out, "twice.png"), "--state", state])
    check(rc == 0 and json.load(open(state))["ablated"] == "1.1 (zero)", "render --ablate given twice keeps the part off")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hello", "--view", "all", "-o", os.path.join(out, "x.png")] + specs + ["--ablate", "0.1"])
    one_line_error(rc, e, "at most 64 ablations", "render refuses a 65th --ablate as generate does")
    # a model folder whose name is not UTF-8: drawn with U+FFFD, and the rest of the frame is drawn too
    bad_dir = os.path.join(out.encode(), b"bad\xffname")
    if os.path.isdir(bad_dir):
        shutil.rmtree(bad_dir)
    os.makedirs(bad_dir)
    for f in ("model.safetensors", "config.json"):
        shutil.copy(os.path.join(tiny, f).encode(), os.path.join(bad_dir, f.encode()))
    pdf = os.path.join(out, "bad-name.pdf")
    rc, _, e = run([gs.encode(), b"render", b"--model", bad_dir, b"--prompt", b"Hello", b"--view", b"all", b"-o", pdf.encode()])
    text = subprocess.run(["pdftotext", "-raw", pdf, "-"], capture_output=True, text=True).stdout if rc == 0 else ""
    check("bad\ufffdname" in text and "Next token" in text, "a folder name that is not UTF-8 is drawn with U+FFFD, and so is the rest")
    rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "Hello", "-n", "150"])
    check(rc != 0 and "context is full" in e, "generation past the context stops with a message")
    rc, _, e = run([gs.encode(), b"generate", b"--model", tiny.encode(), b"--prompt", b"bad \xff", b"-n", b"1"])
    one_line_error(rc, e, "not valid UTF-8", "prompt with invalid UTF-8")
    rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "", "-n", "1"])
    one_line_error(rc, e, "prompt is empty", "empty prompt")
    rc, _, e = run([gs, "generate", "--model", "no-such-model", "--prompt", "Hi"])
    one_line_error(rc, e, "model 'no-such-model' not found", "unknown model name")
    rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "Hi", "--top-p", "1.5"])
    one_line_error(rc, e, "invalid value '1.5' for --top-p", "bad top-p")
    rc, _, e = run([gs, "generate", "--model", tiny, "--prompt", "Hi", "--unconditional"])
    one_line_error(rc, e, "exactly one of", "prompt and unconditional together")

    # trace, dump
    tr = os.path.join(out, "cli.trace")
    rc, o, _ = run([gs, "trace", "--model", tiny, "--prompt", "Once upon a time", "-n", "3", "--seed", "1", "-o", tr])
    check(rc == 0 and "6 positions, 3 steps, recording full" in o, f"trace writes a file ({o.strip()})")
    rc, o, _ = run([gs, "dump", tr])
    check(rc == 0 and "h.1.attn.weights" in o and "[4, 6]" in o and "step 2" in o, "dump lists the trace")
    rc, o, _ = run([gs, "dump", tr, "h.0.attn.weights", "--pos", "2"])
    rows = [r for r in o.splitlines() if not r.startswith("#")]
    vals = np.array([[float(x) for x in r.split()] for r in rows])
    check(rc == 0 and vals.shape == (4, 4) and np.allclose(vals.sum(1), 1, atol=1e-5) and np.all(vals[:, 3] == 0),
          "dump prints attention weights: rows sum to 1, the future key is 0")
    npy = os.path.join(out, "probs.npy")
    rc, _, _ = run([gs, "dump", tr, "probs", "--npy", npy])
    p = np.load(npy) if rc == 0 else None
    check(p is not None and p.shape == (50257,) and abs(p.sum() - 1) < 1e-4, "dump --npy exports probabilities")
    rc, o, _ = run([gs, "dump", tr, "probs", "--pos", "0"])
    vals = np.array([float(x) for x in o.splitlines()[1].split()]) if rc == 0 else np.zeros(0)
    check(rc == 0 and o.startswith("# probs at position 0 (token 7454), shape [50257]\n") and vals.shape == (50257,)
          and abs(vals.sum() - 1) < 1e-4, "dump prints a prompt position's probabilities with their shape")
    rc, _, e = run([gs, "dump", tr, "h.7.ln_1"])
    one_line_error(rc, e, "no tensor named 'h.7.ln_1'", "dump of an unknown name")
    rc, _, e = run([gs, "dump", tr, "logits", "--pos", "99"])
    one_line_error(rc, e, "past the last position", "dump past the end")
    rc, _, e = run([gs, "dump", os.path.join(ROOT, "Makefile"), "logits"])
    one_line_error(rc, e, "not a gptstep trace", "dump of a file that is not a trace")
    tra = os.path.join(out, "attn.trace")
    rc, o, _ = run([gs, "trace", "--model", tiny, "--prompt", "Once upon a time", "-n", "2", "--record", "attention",
                    "-o", tra])
    rc2, _, e = run([gs, "dump", tra, "h.0.ln_1"])
    check(rc == 0 and rc2 != 0 and "was not recorded" in e, "attention-only recording keeps no LayerNorm outputs")
    rc, o, _ = run([gs, "dump", tra, "h.0.attn.scores"])
    check(rc == 0 and o.startswith("# h.0.attn.scores"), "attention-only recording keeps attention scores")

    # render: every view to a file, without a window
    for view, ext in (("all", "png"), ("attention", "pdf"), ("grid", "svg"), ("distribution", "png"), ("block", "pdf")):
        f = os.path.join(out, f"render-{view}.{ext}")
        if os.path.exists(f):
            os.remove(f)
        rc, o, e = run([gs, "render", "--model", tiny, "--prompt", "Once upon a time", "-n", "2", "--view", view,
                        "--layer", "1", "--head", "3", "-o", f])
        with open(f, "rb") as fh:
            head = fh.read(8) if rc == 0 else b""
        magic = {"png": b"\x89PNG", "pdf": b"%PDF", "svg": b"<?xml"}[ext]
        check(rc == 0 and head.startswith(magic), f"render --view {view} writes a {ext.upper()} ({e.strip()})")
    # the experiment view, after the commands that fill it
    for what, extra in (("attribution", ["--command", "attribute"]),
                        ("patching", ["--compare", "Once upon a day", "--command", "patch resid"])):
        f = os.path.join(out, f"render-experiment-{what}.png")
        rc, o, e = run([gs, "render", "--model", tiny, "--prompt", "Once upon a time", "--view", "experiment", "-o", f] + extra)
        check(rc == 0 and os.path.getsize(f) > 1000, f"render --view experiment draws {what} ({e.strip()})")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hi", "--view", "all", "--command", "patch resid", "-o",
                    os.path.join(out, "x.png")])
    one_line_error(rc, e, "compare TEXT", "render --command patch without a text to compare")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hi", "--view", "spaghetti", "-o", "x.png"])
    one_line_error(rc, e, "unknown view 'spaghetti'", "render with an unknown view")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hi", "--view", "all", "--layer", "7", "-o",
                    os.path.join(out, "x.png")])
    one_line_error(rc, e, "layer expects 0..1", "render with a layer the model lacks")
    rc, _, e = run([gs, "render", "--model", tiny, "--prompt", "Hi", "--view", "all", "-o", os.path.join(out, "x.gif")])
    one_line_error(rc, e, "expected a file name ending in .png, .svg or .pdf", "render to an unknown format")

    # heads: a row per (layer, head) of scores between 0 and 1, then the clearest of each kind
    rc, o, _ = run([gs, "heads", "--model", tiny, "--repeat", "10"])
    rows = [r.split() for r in o.splitlines() if re.match(r"^\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", r)]
    vals = np.array([[float(x) for x in r[2:]] for r in rows]) if rows else np.zeros((0, 4))
    check(rc == 0 and len(rows) == 2 * 4 and np.all((vals >= 0) & (vals <= 1)) and "clearest: previous token: layer" in o
          and "10 random tokens" in o, "heads scores every head of the tiny model")
    # ... and its previous/first scores are the traced attention weights averaged by hand
    text = "Once upon a time there was a little dragon who lived in a cave by the sea."
    trh = os.path.join(out, "heads.trace")
    rc1, _, _ = run([gs, "trace", "--model", tiny, "--prompt", text, "-n", "0", "--record", "attention", "-o", trh])
    rc2, o, _ = run([gs, "heads", "--model", tiny, "--text", text, "--repeat", "10"])
    got = {(int(r[0]), int(r[1])): (float(r[2]), float(r[3])) for r in
           (r.split() for r in o.splitlines() if re.match(r"^\s+\d+\s+\d+\s+[\d.]+", r))}
    n = int(re.search(r"running text, (\d+) tokens", o).group(1)) if rc2 == 0 else 0
    worst = 1.0 if rc1 or rc2 or not got else 0.0
    for layer in range(2):
        w = []
        for pos in range(2, n):
            _, d, _ = run([gs, "dump", trh, f"h.{layer}.attn.weights", "--pos", str(pos)])
            w.append(np.array([[float(x) for x in r.split()] for r in d.splitlines()[1:]]))
        for head in range(4):
            prev = np.mean([w[i][head, i + 1] for i in range(len(w))])
            first = np.mean([w[i][head, 0] for i in range(len(w))])
            worst = max(worst, abs(prev - got[(layer, head)][0]), abs(first - got[(layer, head)][1]))
    check(worst <= 0.0006, f"heads' previous/first scores match the traced weights averaged in Python (worst {worst:.4f})")
    # ... and its induction and duplicate scores are the NumPy reference's weights on the same random
    # tokens (gptstep's generator written again here: splitmix64 seeding, xorshift64*)
    M = (1 << 64) - 1
    def rng_seed(seed):
        z = (seed + 0x9E3779B97F4A7C15) & M
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        return (z ^ (z >> 31)) | 1
    def rng_uniform(st):
        st ^= st >> 12
        st ^= (st << 25) & M
        st ^= st >> 27
        return st, np.float32(((st * 0x2545F4914F6CDD1D) & M) >> 40) / np.float32(16777216.0)
    R, st, rand = 10, rng_seed(5), []
    for _ in range(R):
        st, u = rng_uniform(st)
        i = 256 + int(np.float32(u * np.float32(5000)))
        rand.append(i if i < 50256 else 50255)
    ids = [50256] + rand + rand
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gpt2_ref
    rr = gpt2_ref.Reference(tiny).forward(ids)
    rc3, o, _ = run([gs, "heads", "--model", tiny, "--repeat", str(R), "--seed", "5"])
    got = {(int(r[0]), int(r[1])): (float(r[4]), float(r[5])) for r in
           (r.split() for r in o.splitlines() if re.match(r"^\s+\d+\s+\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", r))}
    worst = 1.0 if rc3 or len(got) != 8 else 0.0
    for (layer, head), (ind, dup) in got.items():
        w = rr[f"h.{layer}.attn.weights"]  # (T, NH, T)
        want_ind = np.mean([w[R + 1 + i, head, 2 + i] for i in range(R)])
        want_dup = np.mean([w[R + 1 + i, head, 1 + i] for i in range(R)])
        worst = max(worst, abs(ind - want_ind), abs(dup - want_dup))
    check(worst <= 0.0006, f"heads' induction and duplicate-token scores match the NumPy reference on the same tokens (worst {worst:.4f})")
    rc, _, e = run([gs, "heads", "--model", tiny, "--text", "Hi"])
    one_line_error(rc, e, "at least 3 are needed", "heads on a text too short")
    rc, _, e = run([gs, "heads", "--model", tiny, "--repeat", "1"])
    one_line_error(rc, e, "--repeat expects a number >= 2", "heads with a bad --repeat")

    # info and corrupt checkpoints
    rc, o, _ = run([gs, "info", tiny])
    check(rc == 0 and "layers      2" in o and "heads       4 of size 16" in o and "50257" in o, "info")
    # where the weights went: the tiny float32 file has its data at a 64-byte boundary, the float16 one's
    # matrices are used in place as float16, and GPTSTEP_COPY_WEIGHTS=1 copies (and converts)
    where = lambda o: next((l for l in o.splitlines() if l.startswith("weights ")), "(no weights line)")
    check("used in place from the mapped file" in where(o), f"info: {where(o)}")
    rc, o, _ = run([gs, "info", os.path.join(out, "tiny-f16")])
    check(rc == 0 and "used in place from the mapped file (float16 matrices" in where(o), f"info, F16: {where(o)}")
    rc, o, _ = run([gs, "info", os.path.join(out, "tiny-f16")], env={"GPTSTEP_COPY_WEIGHTS": "1"})
    check(rc == 0 and "converted to float32 in memory" in where(o), f"info, F16, GPTSTEP_COPY_WEIGHTS=1: {where(o)}")
    rc, o, _ = run([gs, "info", tiny], env={"GPTSTEP_COPY_WEIGHTS": "1"})
    check(rc == 0 and "copied into memory (GPTSTEP_COPY_WEIGHTS=1)" in where(o), f"info, GPTSTEP_COPY_WEIGHTS=1: {where(o)}")
    broken = os.path.join(out, "broken")
    shutil.rmtree(broken, ignore_errors=True)
    shutil.copytree(tiny, broken)
    st = os.path.join(broken, "model.safetensors")
    with open(st, "r+b") as f:
        f.truncate(os.path.getsize(st) - 100)
    rc, _, e = run([gs, "info", broken])
    one_line_error(rc, e, "truncated", "info on a truncated checkpoint")
    rc, _, e = run([gs, "generate", "--model", broken, "--prompt", "Hi"])
    one_line_error(rc, e, "model.safetensors: file is", "generate on a truncated checkpoint")
    with open(st, "wb") as f:
        f.write((10 ** 9).to_bytes(8, "little") + b"{}")
    rc, _, e = run([gs, "info", broken])
    one_line_error(rc, e, "larger than the 100000000-byte limit", "info on an oversized header")

    # the shipped vocabulary is OpenAI's, byte for byte
    want = {"encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
            "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"}
    for name, sha in want.items():
        with open(os.path.join(ROOT, "models", "tokenizer", name), "rb") as f:
            check(hashlib.sha256(f.read()).hexdigest() == sha, f"models/tokenizer/{name} SHA-256")

    # the download script, offline
    dl = os.path.join(ROOT, "models", "download.sh")
    rc, o, _ = run(["sh", dl, "--help"])
    check(rc == 0 and "gpt2-medium" in o, "download.sh --help")
    rc, _, e = run(["sh", dl, "gpt3"])
    check(rc == 2 and "unknown model 'gpt3'" in e, "download.sh rejects an unknown model")
    vocab = os.path.join(ROOT, "models", "tokenizer", "vocab.bpe")
    rc, o, _ = run(["sh", dl, "verify", vocab, want["vocab.bpe"], "strict"])
    check(rc == 0 and "verified" in o, "hash check passes on a matching local file")
    rc, _, e = run(["sh", dl, "verify", vocab, "0" * 64, "strict"])
    check(rc == 1 and "SHA-256 mismatch" in e, "hash check fails on a mismatch when the hash is pinned (gpt2)")
    rc, _, e = run(["sh", dl, "verify", vocab, "0" * 64])
    check(rc == 0 and "unverified" in e, "hash mismatch is 'unverified' for hashes that are not pinned")
    dest = os.path.join(out, "dl")
    shutil.rmtree(dest, ignore_errors=True)
    rc, o, e = run(["sh", dl, "gpt2"], env={"HF_ENDPOINT": "http://127.0.0.1:9", "GPTSTEP_MODELS": dest})
    check(rc == 3 and "no network?" in e, f"download without a network says so (rc {rc})")

    print(f"cli: {len(passes)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
