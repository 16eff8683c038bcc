#!/usr/bin/env python3
"""make_corpus.py - writes the fuzz harnesses' seed corpora (tests/fuzz/corpus/NAME/): small real files of
every kind gptstep reads. Run once from the repository after `make` (the corpora are checked in):
    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import gpt2_ref  # noqa: E402

C = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n====\n"


def put(name, fname, data):
    d = os.path.join(C, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def tiny_checkpoint(n_layer, n_head, n_embd, n_ctx, n_vocab, dtype, seed=1, prefix=""):
    t = gpt2_ref.random_gpt2(n_layer, n_head, n_embd, n_ctx, n_vocab=n_vocab, seed=seed, prefix=prefix)
    t = {k: v for k, v in t.items() if not re.fullmatch(prefix.replace(".", r"\.") + r"h\.\d+\.attn\.bias", k)}
    path = "/tmp/gptstep-corpus.safetensors"
    gpt2_ref.st_write(path, t, dtype, metadata={"format": "pt"})
    with open(path, "rb") as f:
        return f.read()


def main():
    shutil.rmtree(C, ignore_errors=True)
    # safetensors and checkpoints: tiny GPT-2s in every dtype, with and without config.json
    for i, (dt, pre) in enumerate([("F32", ""), ("F16", ""), ("BF16", "transformer.")]):
        st = tiny_checkpoint(2, 2, 8, 16, 32, dt, seed=i, prefix=pre)
        put("safetensors", f"tiny-{dt.lower()}.safetensors", st)
        cfg = json.dumps(dict(n_layer=2, n_head=2, n_embd=8, n_positions=16, vocab_size=32, n_inner=32,
                              layer_norm_epsilon=1e-5, activation_function="gelu_new")).encode()
        put("checkpoint", f"tiny-{dt.lower()}-config", st + SEP + cfg)
        put("checkpoint", f"tiny-{dt.lower()}-noconfig", st)
    put("safetensors", "empty-header", struct.pack("<Q", 2) + b"{}")
    put("safetensors", "metadata-only", struct.pack("<Q", 32) + b'{"__metadata__":{"format":"pt"}}')
    # tokenizer files: the 256 byte tokens, a few merges, <|endoftext|>
    byte_cp = {}
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) + list(range(ord("\xae"), ord("\xff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    for b, c in zip(bs, cs):
        byte_cp[b] = chr(c)
    vocab = {byte_cp[b]: i for i, b in enumerate(range(256))}
    merges = [("t", "h"), ("th", "e"), ("\u0120", "t"), ("\u0120t", "he"), ("o", "n"), ("\u0120", "a")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    enc = json.dumps(vocab).encode()
    bpe = ("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges)).encode()
    put("tokfiles", "small-gpt2", b"\x00" + enc + SEP + bpe)
    put("tokfiles", "small-hf", b"\x01" + enc + SEP + bpe)
    # text to encode: the shared vectors' texts
    with open(os.path.join(ROOT, "tests", "tokenizer-vectors.json")) as f:
        vec = json.load(f)
    for i, text in enumerate(list(vec)[:40]):  # {text: ids}
        put("encode", f"vector-{i:02d}", text.encode())
    put("encode", "special", "Hello<|endoftext|>world \u65e5\u672c\u8a9e 's 've 123".encode())
    # ids to decode
    put("decode", "hello", struct.pack("<6H", 15496, 995, 50256, 171, 98, 232))
    put("decode", "bytes", struct.pack("<8H", 188, 189, 190, 191, 192, 193, 194, 195))
    # lessons: the shipped ones and the malformed ones of the tests
    for d in ("lessons", "tests/lessons"):
        for fn in sorted(os.listdir(os.path.join(ROOT, d))):
            with open(os.path.join(ROOT, d, fn), "rb") as f:
                put("lesson", fn, f.read())
    # traces: short real traces of the storybook model, attention recording
    gs = os.path.join(ROOT, "gptstep")
    for i, (prompt, rec) in enumerate([("Once", "attention"), ("Hi there", "off")]):
        out = f"/tmp/gptstep-corpus-{i}.trace"
        subprocess.run([gs, "trace", "--prompt", prompt, "-n", "1", "--record", rec, "--greedy", "-o", out], check=True,
                       capture_output=True)
        with open(out, "rb") as f:
            put("trace", f"storybook-{rec}", f.read())
    # viewer command lines
    for i, script in enumerate([
        "next\nnext\nlayer 2\nhead 1\nattention scores\ncell 3 1",
        "view grid\npresenter on\nview next\nview pipeline\nstage L1.ffn",
        "temperature 0.7\ntop-k 5\ntop-p 0.9\npick 198\nbranch 0\nbranch next",
        "prompt The dragon flew\nzoom 4\npan right\nquery 1\nkey 0\nhighlight token 0 1",
        "view distribution\nbars 3\nhighlight candidate \" the\"\ngreedy on\ngenerate 3\nprev\nfirst",
        "unconditional\nstep 2\nview tokens\nview block\nlayer +\nhead -",
    ]):
        put("viewer", f"script-{i}", script)
    # window event streams (fuzz_window.c): a first byte (odd: a lesson's keys), then (op, a, b) triples -
    # op 0 a key, 1 a command, 2 a click, 3 a move, 4 the wheel, 5 text, 6 a frame, 7 a finished job
    window_key = {"Right": 0, "PageDown": 2, "Left": 3, "PageUp": 4, "Down": 8, "g": 17, "x": 26, "Return": 29, ":": 30}
    for i, (first, events) in enumerate([
        (0, [(0, "Right"), (0, "Right"), (0, "Left"), (6,), (7,), (0, "Down"), (6,), (0, "g"), (2, 120, 120)]),
        (1, [(0, "PageDown"), (0, "PageDown"), (0, "PageUp"), (6,), (0, "PageDown"), (7,), (6,), (0, "PageDown")]),
        (0, [(1, 6), (6,), (1, 11), (1, 13), (6,), (7,), (0, "x"), (1, 8), (6,)]),
        (0, [(0, "Return"), (5, 0), (5, 1), (0, "Return"), (6,), (0, ":"), (5, 3), (0, "Return"), (7,)]),
        (1, [(0, "PageDown")] * 6 + [(6,), (0, "PageUp")] * 3 + [(7,)]),
    ]):
        data = bytearray([first])
        for e in events:
            if e[0] == 0:
                data += bytes([0, window_key[e[1]], 0])
            else:
                data += bytes([e[0], e[1] if len(e) > 1 else 0, e[2] if len(e) > 2 else 0])
        put("window", f"events-{i}", bytes(data))
    print("wrote", C)


if __name__ == "__main__":
    main()
