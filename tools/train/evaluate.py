#!/usr/bin/python3
"""The validation loss of a checkpoint over every non-overlapping 256-token window of the held-out
books (nats/token), the figure the model card reports.

    /usr/bin/python3 tools/train/evaluate.py RUNDIR/checkpoint.pt DATADIR [--threads N]
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import read_tokens  # noqa: E402
from train import GPT2, evaluate  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    c = ckpt["config"]
    model = GPT2(c["n_layer"], c["n_head"], c["n_embd"], c["n_ctx"])
    model.load_state_dict(ckpt["model"])
    val = read_tokens(os.path.join(args.data, "val.bin"))
    T = 256
    n = (len(val) - 1) // T
    # float32 throughout for the reported figure (no autocast)
    loss = evaluate(model, val, T, "cpu", lambda: torch.autocast("cpu", enabled=False), max_windows=None)
    print(f"validation loss {loss:.4f} nats/token over {n} windows of {T} tokens ({n * T:,} tokens), "
          f"step {ckpt['step']}, {ckpt['tokens_seen']:,} tokens seen")


if __name__ == "__main__":
    main()
