#!/usr/bin/python3
"""Tokenizes the storybook corpus with gptstep's own tokenizer into binary token files.

    /usr/bin/python3 tools/train/prepare.py [--corpus DIR] [--out DIR]

Each book is tokenized with `gptstep tokens --ids --no-special --file BOOK` and followed by
<|endoftext|> (50256). Whole books are held out for validation: every 25th book in name order (about 4%
of the text), so the validation loss measures books the model has never seen.
Output: OUT/train.bin, OUT/val.bin (header: int32 magic 20240520, version 1, token count, 253 zeros;
then uint16 tokens, the llm.c data layout) and OUT/split.tsv listing which book went where.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EOT = 50256
MAGIC, VERSION = 20240520, 1


def write_tokens(path, tokens):
    header = np.zeros(256, dtype=np.int32)
    header[0], header[1], header[2] = MAGIC, VERSION, len(tokens)
    with open(path, "wb") as f:
        f.write(header.tobytes())
        f.write(np.asarray(tokens, dtype=np.uint16).tobytes())


def read_tokens(path):
    with open(path, "rb") as f:
        header = np.frombuffer(f.read(1024), dtype=np.int32)
        if header[0] != MAGIC or header[1] != VERSION:
            sys.exit(f"{path}: not a token file (magic {header[0]}, version {header[1]})")
        tokens = np.frombuffer(f.read(), dtype=np.uint16)
    if len(tokens) != header[2]:
        sys.exit(f"{path}: {len(tokens)} tokens, header says {header[2]} (truncated?)")
    return tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus", "storybooks"))
    ap.add_argument("--out", default=os.path.join(HERE, "data"))
    ap.add_argument("--gptstep", default=os.path.join(ROOT, "gptstep"))
    ap.add_argument("--every", type=int, default=25, help="hold out every N-th book (default 25)")
    args = ap.parse_args()
    books = sorted(f for f in os.listdir(args.corpus) if f.endswith(".txt"))
    if not books:
        sys.exit(f"{args.corpus}: no .txt books found")
    os.makedirs(args.out, exist_ok=True)
    train, val, rows = [], [], []
    for i, book in enumerate(books):
        out = subprocess.run([args.gptstep, "tokens", "--ids", "--no-special", "--file",
                              os.path.join(args.corpus, book)], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"gptstep tokens failed on {book}: {out.stderr.strip()}")
        ids = [int(x) for x in out.stdout.split()] + [EOT]
        split = "val" if i % args.every == args.every // 2 else "train"
        (val if split == "val" else train).extend(ids)
        rows.append(f"{book}\t{split}\t{len(ids)}")
        print(f"\r[{i + 1}/{len(books)}] {book[:60]:60s}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    write_tokens(os.path.join(args.out, "train.bin"), train)
    write_tokens(os.path.join(args.out, "val.bin"), val)
    with open(os.path.join(args.out, "split.tsv"), "w") as f:
        f.write("book\tsplit\ttokens\n" + "\n".join(rows) + "\n")
    n_val_books = sum(r.split("\t")[1] == "val" for r in rows)
    print(f"train: {len(train):,} tokens; validation: {len(val):,} tokens from {n_val_books} books "
          f"({100 * len(val) / (len(train) + len(val)):.1f}%)")


if __name__ == "__main__":
    main()
