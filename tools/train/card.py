#!/usr/bin/python3
"""Writes models/<name>/MODEL_CARD.md and its loss plot from a training run: data, architecture,
parameter count, tokens seen, hardware and time, the loss curve, the measured validation loss, the
weights' SHA-256, and five continuations of fixed prompts made by `gptstep generate`.

    /usr/bin/python3 tools/train/card.py RUNDIR MODELDIR --val-loss X --val-windows N [--command "..."]
        [--earlier STEPS,TOKENS,HOURS --earlier-plot PNG]    (a run started with train.py --init-from)
"""
import argparse
import csv
import hashlib
import os
import platform
import subprocess

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

PROMPTS = [
    ("Once upon a time there was a", 1),
    ("The little princess looked out of the window and", 2),
    ("In the deep dark forest lived a", 3),
    ('"Where are you going?" asked the', 4),
    ("The king called his three sons and said,", 5),
]
SAMPLING = ["--temperature", "0.8", "--top-k", "40"]


def plot(log_rows, path, offset=0):
    """The loss curve of log.csv; offset: tokens seen before the run (a run started with --init-from)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    tokens = [(offset + int(r["tokens"])) / 1e6 for r in log_rows]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
    ax.plot(tokens, [float(r["train_loss"]) for r in log_rows], label="train (mean since last point)")
    ax.plot(tokens, [float(r["val_loss"]) for r in log_rows], label="validation (held-out books)")
    ax.axhline(4.5, color="gray", linestyle="--", linewidth=0.8, label="target: validation 4.5")
    ax.set_xlabel("tokens seen (millions)")
    ax.set_ylabel("loss (nats/token)")
    ax.set_ylim(top=min(8, max(float(r["val_loss"]) for r in log_rows) + 0.5))
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("storybook GPT-2: training and validation loss"
                 + (f" from {offset / 1e6:.1f}M tokens on" if offset else ""))
    fig.tight_layout()
    fig.savefig(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("model")
    ap.add_argument("--val-loss", type=float, required=True)
    ap.add_argument("--val-windows", type=int, required=True)
    ap.add_argument("--val-how", default="float32", help="how the validation loss was measured, for the card")
    ap.add_argument("--command", action="append", default=[],
                    help="a training command, for the card (repeat for a run made of several)")
    ap.add_argument("--training-note", action="append", default=[],
                    help="another line for the card's Training list (repeat for several)")
    ap.add_argument("--plot-note", default="", help="a line under the loss plot (how its points were measured)")
    ap.add_argument("--hardware", default=f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()})")
    ap.add_argument("--earlier", metavar="STEPS,TOKENS,HOURS",
                    help="for a run started with --init-from: the steps, tokens and hours of training behind the "
                         "model it started from (its card says them), added to this run's")
    ap.add_argument("--earlier-plot", metavar="PNG",
                    help="the loss plot of that earlier training, shown on the card before this run's (a file in "
                         "MODELDIR)")
    ap.add_argument("--shown-run", default="/tmp/sb-run",
                    help="the run folder the card's last commands (export, card) name (default /tmp/sb-run)")
    args = ap.parse_args()
    ckpt = torch.load(os.path.join(args.run, "checkpoint.pt"), map_location="cpu")
    c, a = ckpt["config"], ckpt["args"]
    rows = list(csv.DictReader(open(os.path.join(args.run, "log.csv"))))
    init_from = a.get("init_from") or args.earlier
    if a.get("init_from") and not args.earlier:
        ap.error("the run started from an exported model (--init-from): --earlier must say what training lies behind it")
    e_steps, e_tokens, e_hours = (float(x) for x in args.earlier.split(",")) if args.earlier else (0, 0, 0)
    plot(rows, os.path.join(args.model, "loss.png"), int(e_tokens))
    steps, tokens_seen = ckpt["step"] + int(e_steps), ckpt["tokens_seen"] + int(e_tokens)
    precision = "float32" if a.get("no_bf16") else "bfloat16 autocast"
    n_params = sum(v.numel() for v in ckpt["model"].values())
    with open(os.path.join(args.model, "model.safetensors"), "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    size = os.path.getsize(os.path.join(args.model, "model.safetensors"))
    gptstep = os.path.join(ROOT, "gptstep")
    name = os.path.basename(os.path.normpath(args.model))
    samples = []
    for prompt, seed in PROMPTS:
        cmd = [gptstep, "generate", "--model", name, "--prompt", prompt, "-n", "60", "--seed", str(seed)] + SAMPLING
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout.rstrip("\n")
        shown = " ".join(x if " " not in x else f"'{x}'" for x in ["./gptstep"] + cmd[1:])
        samples.append((shown, out))
    heads_cmd = [gptstep, "heads", "--model", name]
    heads = subprocess.run(heads_cmd, capture_output=True, text=True, check=True, cwd=ROOT).stdout.rstrip("\n")
    hours = ckpt["elapsed"] / 3600
    lines = [
        f"# {name}: a storybook GPT-2",
        "",
        "A small model with GPT-2's exact architecture and GPT-2's real 50,257-token tokenizer, trained on",
        "public-domain children's books so that gptstep shows something meaningful the moment it starts,",
        "with no download. It writes storybook-flavoured English; it is far weaker than real GPT-2.",
        "",
        "## Data",
        "",
        "339 public-domain children's books from Project Gutenberg (Andrew Lang's Fairy Books, the Brothers",
        "Grimm, Andersen, Carroll, Barrie, Baum, Burnett, Nesbit, Kipling, Montgomery, Alcott), cleaned of",
        "Gutenberg headers, about 95 MB of text. Tokenized with `gptstep tokens --ids --no-special`, one",
        "`<|endoftext|>` after each book. Every 25th book (14 books, 765,210 tokens, 3.2%) is held out whole",
        "for validation; the other 23,051,155 tokens are for training (`tools/train/prepare.py`).",
        "",
        "## Architecture",
        "",
        f"GPT-2 exactly as gptstep runs it: {c['n_layer']} layers, {c['n_head']} heads of "
        f"{c['n_embd'] // c['n_head']}, {c['n_embd']} channels, feed-forward {4 * c['n_embd']}, context "
        f"{c['n_ctx']}, vocabulary {c['n_vocab']}; pre-LayerNorm blocks (eps 1e-5), gelu_new (tanh), learned",
        "positions, output layer tied to the token embedding. "
        f"**{n_params:,} parameters** ({c['n_vocab'] * c['n_embd']:,} of them the token embedding).",
        "",
        "## Training",
        "",
        f"- {steps:,} steps of {a['batch']} x {a['ctx']} tokens: **{tokens_seen:,} tokens seen** "
        f"({tokens_seen / 23051155:.2f} epochs), {hours + e_hours:.2f} hours of training in all",
    ] + [f"- {note}" for note in args.training_note] + [
        ("- " if not init_from else
         f"- then {ckpt['step']:,} more steps ({ckpt['tokens_seen'] / 1e6:.1f}M tokens) from that model's exported "
         "weights (`train.py --init-from`), with a fresh optimizer: ")
        + f"AdamW (betas 0.9, 0.95, weight decay {a['weight_decay']}), learning rate {a['lr']} after "
        f"{a['warmup']} warmup steps, cosine decay to {a['min_lr']}, gradient clipping at {a['clip']}"
        + (f"; half of the windows told a passage twice" if a.get("repeat_frac") == 0.5 else
           f"; {a['repeat_frac']:.0%} of the windows told a passage twice" if a.get("repeat_frac") else ""),
        f"- {'the continuation: ' if init_from else ''}{precision} on {args.hardware}; {hours:.2f} hours",
        "",
    ] + ([f"![loss curve of the first {e_tokens / 1e6:.1f}M tokens]({args.earlier_plot})", ""]
         if args.earlier_plot else []) + [
        "![loss curve](loss.png)",
        "",
    ] + ([args.plot_note, ""] if args.plot_note else []) + [
        "## Validation loss",
        "",
        f"**{args.val_loss:.3f} nats/token** on the held-out books ({args.val_how}), over {args.val_windows:,} "
        "non-overlapping 256-token windows. "
        + ("The target was 4.5 or lower." if args.val_loss <= 4.5 else "The target was 4.5: not reached."),
        f"`/usr/bin/python3 tools/train/evaluate.py models/{name} DATADIR` measures it over all 2,989 windows.",
        "For scale: a uniform guess over the vocabulary is 10.8; real GPT-2 small (124M parameters, 40 GB of",
        "web text) would do far better on this text.",
        "",
        "## The weights file",
        "",
        f"`model.safetensors`: {size:,} bytes, float16, Hugging Face GPT-2 names in Conv1D layout.",
        "",
        f"SHA-256: `{sha}`",
        "",
        "(`make test` checks this hash, and checks gptstep against the NumPy reference on this model.)",
        "",
        "## Continuations",
        "",
        "Made by `gptstep generate` (temperature 0.8, top-k 40), 60 new tokens each:",
        "",
    ]
    for cmd, out in samples:
        lines += ["```", f"$ {cmd}", out, "```", ""]
    lines += [
        "## Attention heads",
        "",
        "What its heads attend to, measured by `gptstep heads` (open the clearest ones in the viewer with",
        "Up/Down and the number keys):",
        "",
        "```",
        f"$ ./gptstep heads --model {name}",
        heads,
        "```",
        "",
    ]
    lines += [
        "## Reproducing it",
        "",
        "```sh",
        "sudo apt-get install python3-torch python3-matplotlib   # Debian's PyTorch",
        "make                                                     # gptstep, for the tokenizer",
        "/usr/bin/python3 tools/train/prepare.py --out /tmp/sb-data",
    ] + (args.command or ["/usr/bin/python3 tools/train/train.py --data /tmp/sb-data --out /tmp/sb-run"]) + [
        f"/usr/bin/python3 tools/train/export.py {args.shown_run}/checkpoint.pt models/storybook",
        "/usr/bin/python3 tools/train/evaluate.py models/storybook /tmp/sb-data",
        f"/usr/bin/python3 tools/train/card.py {args.shown_run} models/storybook --val-loss X --val-windows N"
        + (f" --earlier {args.earlier}" if args.earlier else ""),
        "```",
        "",
        "Training stops cleanly on Ctrl-C and continues exactly with `--resume`; giving `--tokens` with",
        "`--resume` lengthens the schedule from there, and `--stop-at` replays an interruption. Results",
        "differ slightly between machines and thread counts (floating-point summation order).",
        "",
    ]
    with open(os.path.join(args.model, "MODEL_CARD.md"), "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.model}/MODEL_CARD.md and loss.png; SHA-256 {sha}")


if __name__ == "__main__":
    main()
