#!/usr/bin/python3
"""Trains a small GPT-2 (exactly the architecture gptstep's C decoder runs) on token files from
prepare.py. CPU (bfloat16 autocast) or CUDA. Checkpoints at regular intervals and on Ctrl-C/SIGTERM;
--resume continues exactly (model, optimizer, data order and step); --init-from trains an exported
model (models/storybook) further.

    /usr/bin/python3 tools/train/train.py --data DIR --out RUNDIR [--resume | --init-from MODELDIR] [options]

The architecture: pre-LayerNorm blocks, gelu_new (tanh), LayerNorm eps 1e-5, learned positions, the
50,257-token GPT-2 vocabulary, output layer tied to the token embedding. Logged to RUNDIR/log.csv:
step, tokens seen, train loss, validation loss (nats/token over 256-token windows), learning rate,
tokens per second, elapsed seconds.
"""
import argparse
import csv
import math
import os
import signal
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from export import read_model_dir  # noqa: E402
from prepare import read_tokens  # noqa: E402


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C, eps=1e-5)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C, eps=1e-5)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attention(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        # (B, T, C) -> (B, NH, T, HS): head h is channels [h*HS, (h+1)*HS) of q, k and v
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(C // self.NH)
        mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
        weights = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        heads = (weights @ v).transpose(1, 2).reshape(B, T, C)
        return self.attn_proj(heads)

    def forward(self, x):
        x = x + self.attention(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, n_layer, n_head, n_embd, n_ctx, n_vocab=50257):
        super().__init__()
        self.config = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, n_ctx=n_ctx, n_vocab=n_vocab)
        self.wte = nn.Embedding(n_vocab, n_embd)
        self.wpe = nn.Embedding(n_ctx, n_embd)
        self.h = nn.ModuleList(Block(n_embd, n_head) for _ in range(n_layer))
        self.ln_f = nn.LayerNorm(n_embd, eps=1e-5)
        # GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 L)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(p)
            elif "ln_" in name:
                nn.init.ones_(p)
            else:
                std = 0.02 / math.sqrt(2 * n_layer) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def hidden(self, idx):
        """The final LayerNorm's output, (B, T, n_embd)."""
        T = idx.shape[1]
        x = self.wte(idx) + self.wpe(torch.arange(T, device=idx.device))
        for block in self.h:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx, targets=None):
        logits = self.hidden(idx) @ self.wte.weight.t()  # tied output layer
        if targets is None:
            return logits
        return F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), targets.reshape(-1))


def speed_hint(device, use_bf16):
    """A line of advice when this CPU will train slowly, or None. bfloat16 autocast is fast only with
    AVX-512 BF16 (or AMX); float32 matrix products are slow on the reference BLAS that Debian's PyTorch
    uses unless an optimised one (OpenBLAS, BLIS) provides libblas.so.3."""
    if device != "cpu":
        return None
    try:
        flags = open("/proc/cpuinfo").read()
    except OSError:
        return None
    if use_bf16 and "avx512_bf16" not in flags and "amx_bf16" not in flags:
        return ("this CPU has no AVX-512 BF16: bfloat16 autocast will be very slow here; train in float32 "
                "(--no-bf16) with OpenBLAS (sudo apt-get install libopenblas0-pthread)")
    if not use_bf16:
        torch.ones(2, 2) @ torch.ones(2, 2)  # loads the BLAS library
        libs = {line.split()[-1] for line in open("/proc/self/maps") if ".so" in line}
        reference = any("/blas/libblas.so" in lib for lib in libs)  # Debian's reference BLAS
        if reference and not any(fast in lib for lib in libs for fast in ("openblas", "blis", "mkl")):
            return ("float32 matrix products run on the reference BLAS here, far slower than OpenBLAS: "
                    "sudo apt-get install libopenblas0-pthread")
    return None


def lr_at(step, args, total_steps):
    """Linear warmup, then cosine decay to min_lr."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    frac = min(1.0, (step - args.warmup) / max(1, total_steps - args.warmup))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * frac))


def batch(tokens, rng, B, T, device, repeat_frac=0.0):
    """B random windows of T+1 tokens. With repeat_frac, that fraction of them (on average) is a
    passage of 16 to T/2 tokens told twice: the passage, then the same text again from its start
    (the way a story repeats a refrain), so that continuing a repeat is learned (induction heads)."""
    starts = rng.integers(0, len(tokens) - T - 1, size=B)
    rows = [tokens[s:s + T + 1].astype(np.int64) for s in starts]
    if repeat_frac > 0:  # no extra draws otherwise, so runs without it replay exactly
        repeat = rng.random(B) < repeat_frac
        lengths = rng.integers(16, T // 2 + 1, size=B)
        for i in np.flatnonzero(repeat):
            s, n = starts[i], lengths[i]
            rows[i] = np.concatenate([tokens[s:s + n], tokens[s:s + T + 1 - n]]).astype(np.int64)
    chunk = np.stack(rows)
    t = torch.from_numpy(chunk).to(device)
    return t[:, :-1], t[:, 1:]


@torch.no_grad()
def evaluate(model, tokens, T, device, autocast, max_windows=None, B=16):
    """Mean loss (nats/token) over non-overlapping T-token windows of the validation tokens,
    evenly spaced when max_windows is smaller than their number."""
    model.eval()
    n = (len(tokens) - 1) // T
    idx = np.arange(n) if not max_windows or max_windows >= n else np.linspace(0, n - 1, max_windows).astype(int)
    total, count = 0.0, 0
    for i in range(0, len(idx), B):
        rows = [tokens[j * T:j * T + T + 1].astype(np.int64) for j in idx[i:i + B]]
        t = torch.from_numpy(np.stack(rows)).to(device)
        with autocast():
            loss = model(t[:, :-1], t[:, 1:])
        total += loss.item() * len(rows)
        count += len(rows)
    model.train()
    return total / count


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with train.bin and val.bin from prepare.py")
    ap.add_argument("--out", required=True, help="run folder: checkpoint.pt and log.csv")
    ap.add_argument("--resume", action="store_true", help="continue from RUNDIR/checkpoint.pt")
    ap.add_argument("--init-from", metavar="MODELDIR",
                    help="start a new run from the weights of an exported model directory (its shapes; a fresh "
                         "optimizer and schedule): trains a shipped model further")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--embd", type=int, default=128)
    ap.add_argument("--ctx", type=int, default=256)
    ap.add_argument("--batch", type=int, default=16, help="sequences per step")
    ap.add_argument("--tokens", type=float, default=None,
                    help="training length in tokens, which sets the schedule (default 20e6; with --resume, "
                         "the resumed run's, unless given to lengthen or shorten it)")
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--min-lr", type=float, default=3e-4)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--eval-windows", type=int, default=300)
    ap.add_argument("--ckpt-every", type=int, default=250)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-bf16", action="store_true", help="train in float32")
    ap.add_argument("--seed", type=int, default=1337)
    ap.add_argument("--repeat-frac", type=float, default=None,
                    help="fraction of training windows that tell a passage twice (default 0; with --resume, the "
                         "resumed run's, unless given)")
    ap.add_argument("--stop-at", type=int, default=None,
                    help="stop at this step as if interrupted (checkpoint saved; --resume continues): replays an "
                         "interrupted run exactly")
    args = ap.parse_args()
    if args.resume and args.init_from:
        ap.error("--init-from starts a new run; --resume continues one: give one of them")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = args.device
    train_tokens = read_tokens(os.path.join(args.data, "train.bin"))
    val_tokens = read_tokens(os.path.join(args.data, "val.bin"))
    os.makedirs(args.out, exist_ok=True)
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    log_path = os.path.join(args.out, "log.csv")

    step, tokens_seen, elapsed = 0, 0, 0.0
    rng = np.random.default_rng(args.seed)
    if args.resume:
        ckpt = torch.load(ckpt_path, map_location="cpu")
        saved = ckpt["args"]
        if args.tokens is None:
            args.tokens = saved["tokens"]
        if args.repeat_frac is None:
            args.repeat_frac = saved.get("repeat_frac") or 0.0
        args.no_bf16 = args.no_bf16 or saved.get("no_bf16", False)  # a float32 run goes on in float32
        args.init_from = saved.get("init_from")  # where the run began, for its model card
        for k in ("layers", "heads", "embd", "ctx", "batch", "lr", "min_lr", "warmup"):
            setattr(args, k, saved[k])  # the schedule and shapes are those of the run being resumed
        model = GPT2(args.layers, args.heads, args.embd, args.ctx).to(device)
        model.load_state_dict(ckpt["model"])
        step, tokens_seen, elapsed = ckpt["step"], ckpt["tokens_seen"], ckpt["elapsed"]
        rng.bit_generator.state = ckpt["rng"]
        torch.set_rng_state(ckpt["torch_rng"])
    else:
        args.tokens = args.tokens or 20e6
        args.repeat_frac = args.repeat_frac or 0.0
        if args.init_from:
            cfg, state = read_model_dir(args.init_from)
            args.layers, args.heads, args.embd, args.ctx = cfg["n_layer"], cfg["n_head"], cfg["n_embd"], cfg["n_ctx"]
        model = GPT2(args.layers, args.heads, args.embd, args.ctx).to(device)
        if args.init_from:
            model.load_state_dict(state)
            print(f"starting from the weights of {args.init_from}", flush=True)
    use_bf16 = not args.no_bf16
    autocast = lambda: torch.autocast(device_type="cuda" if device.startswith("cuda") else "cpu",  # noqa: E731
                                      dtype=torch.bfloat16, enabled=use_bf16)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=args.lr, betas=(0.9, 0.95), eps=1e-8)
    if args.resume:
        opt.load_state_dict(ckpt["opt"])
        print(f"resumed at step {step}, {tokens_seen:,} tokens seen", flush=True)
    hint = speed_hint(device, use_bf16)
    if hint:
        print(f"note: {hint}", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    tokens_per_step = args.batch * args.ctx
    total_steps = int(args.tokens // tokens_per_step)
    print(f"model: {args.layers} layers, {args.heads} heads, {args.embd} wide, context {args.ctx}, "
          f"{n_params:,} parameters; {total_steps} steps of {tokens_per_step} tokens on {device}"
          f"{' (bf16 autocast)' if use_bf16 else ''}"
          f"{f'; {args.repeat_frac:.0%} of windows tell a passage twice' if args.repeat_frac else ''}", flush=True)

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "tokens_seen": tokens_seen,
                    "elapsed": elapsed, "rng": rng.bit_generator.state, "torch_rng": torch.get_rng_state(),
                    "args": vars(args), "config": model.config}, tmp)
        os.replace(tmp, ckpt_path)

    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    new_log = not os.path.exists(log_path) or not args.resume
    log = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "tokens", "train_loss", "val_loss", "lr", "tokens_per_s", "elapsed_s"])
    window_loss, window_n, t_last, tok_last = 0.0, 0, time.time(), tokens_seen
    while step < total_steps and not stop["now"] and (args.stop_at is None or step < args.stop_at):
        t0 = time.time()
        lr = lr_at(step, args, total_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = batch(train_tokens, rng, args.batch, args.ctx, device, args.repeat_frac)
        with autocast():
            loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        tokens_seen += tokens_per_step
        elapsed += time.time() - t0
        window_loss += loss.item()
        window_n += 1
        if step % args.eval_every == 0 or step == total_steps:
            val = evaluate(model, val_tokens, args.ctx, device, autocast, args.eval_windows)
            now = time.time()
            tps = (tokens_seen - tok_last) / (now - t_last)
            writer.writerow([step, tokens_seen, f"{window_loss / window_n:.4f}", f"{val:.4f}", f"{lr:.6f}",
                             f"{tps:.0f}", f"{elapsed:.0f}"])
            log.flush()
            print(f"step {step}/{total_steps}  tokens {tokens_seen:,}  train {window_loss / window_n:.4f}  "
                  f"val {val:.4f}  lr {lr:.2e}  {tps:.0f} tok/s", flush=True)
            window_loss, window_n, t_last, tok_last = 0.0, 0, time.time(), tokens_seen
        if step % args.ckpt_every == 0:
            save()
    save()
    how = "interrupted" if stop["now"] else "done" if step >= total_steps else "stopped by --stop-at"
    print(f"checkpoint saved at step {step} ({how})", flush=True)


if __name__ == "__main__":
    main()
