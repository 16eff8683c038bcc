#!/usr/bin/python3
"""The validation loss over every non-overlapping 256-token window of the held-out books (nats/token),
the figure the model card reports, in float32. MODEL is a training checkpoint or an exported model
directory (so that the figure is that of the float16 weights that ship).

    /usr/bin/python3 tools/train/evaluate.py (RUNDIR/checkpoint.pt | models/storybook) DATADIR [--threads N]
                                             [--windows N] [--repeat N]

Debian's PyTorch does float32 matrix products with the generic reference BLAS (unless OpenBLAS is
installed), about 6 times slower than its oneDNN (MKL-DNN) kernels; the linear layers here run on oneDNN, still in float32. All 2,989
windows take about 4 minutes on 2 cores of a Zen 5 (225-269 s measured), 8 on a Zen 3 (463 s).
"""
import argparse
import copy
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils import mkldnn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from prepare import read_tokens  # noqa: E402
from export import read_model_dir  # noqa: E402
from train import GPT2, evaluate  # noqa: E402


class Float32OneDNN(nn.Module):
    """model's forward pass in float32 with every linear layer, the tied output layer too, on oneDNN."""

    def __init__(self, model):
        super().__init__()
        self.body = mkldnn.to_mkldnn(copy.deepcopy(model))  # swaps each nn.Linear for a oneDNN one
        head = nn.Linear(model.wte.weight.shape[1], model.wte.weight.shape[0], bias=False)
        head.weight = nn.Parameter(model.wte.weight.detach().clone())
        self.head = mkldnn.to_mkldnn(head)

    def forward(self, idx, targets=None):
        logits = self.head(self.body.hidden(idx))
        if targets is None:
            return logits
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1))


@torch.no_grad()
def told_twice(model, val, n, length=64):
    """Mean loss (nats/token) on n evenly spaced held-out passages of `length` tokens, each told twice in
    a row: (the first telling, the second). The first token of each telling is left out (the second's
    follows a seam no model can predict). A model that continues a repeat (an induction head) does far
    better the second time."""
    starts = torch.linspace(0, len(val) - length - 1, n).long().tolist()
    rows = torch.stack([torch.from_numpy(val[s:s + length].astype("int64")).repeat(2) for s in starts])
    logp = model(rows[:, :-1]).float().log_softmax(-1)
    loss = -logp.gather(-1, rows[:, 1:, None])[..., 0]  # loss[:, j] is that of predicting token j + 1
    return loss[:, :length - 1].mean().item(), loss[:, length:].mean().item()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("data")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--windows", type=int, default=None, help="only this many evenly spaced windows (a quick look)")
    ap.add_argument("--generic-blas", action="store_true",
                    help="the plain PyTorch model instead (the same figure to about 1e-5, far slower here)")
    ap.add_argument("--repeat", type=int, default=0, metavar="N",
                    help="also the loss on N held-out 64-token passages told twice: the first telling, the second")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if os.path.isdir(args.checkpoint):
        c, state = read_model_dir(args.checkpoint)
        what = f"{args.checkpoint}/model.safetensors"
    else:
        ckpt = torch.load(args.checkpoint, map_location="cpu")
        c, state = ckpt["config"], ckpt["model"]
        what = f"step {ckpt['step']}, {ckpt['tokens_seen']:,} tokens seen"
    model = GPT2(c["n_layer"], c["n_head"], c["n_embd"], c["n_ctx"])
    model.load_state_dict(state)
    model.eval()
    if not args.generic_blas:
        model = Float32OneDNN(model)
    val = read_tokens(os.path.join(args.data, "val.bin"))
    T = 256
    n = (len(val) - 1) // T
    # float32 throughout for the reported figure (no autocast)
    t0 = time.time()
    loss = evaluate(model, val, T, "cpu", lambda: torch.autocast("cpu", enabled=False), max_windows=args.windows)
    n = min(n, args.windows or n)
    print(f"validation loss {loss:.4f} nats/token over {n} windows of {T} tokens ({n * T:,} tokens), "
          f"{what}; {time.time() - t0:.0f} s")
    if args.repeat:
        first, again = told_twice(model, val, args.repeat)
        print(f"{args.repeat} held-out passages of 64 tokens told twice: {first:.3f} nats/token the first time, "
              f"{again:.3f} the second")


if __name__ == "__main__":
    main()
