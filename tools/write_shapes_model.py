#!/usr/bin/env python3
"""write_shapes_model.py - writes a GPT-2 checkpoint of random weights with a real size's names, shapes and
layout (Hugging Face model.safetensors + config.json), for benchmarks and tests where the real weights
cannot be downloaded.
    write_shapes_model.py DIR small|medium|large|xl [--dtype F32|F16] [--seed N]
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import gpt2_ref  # noqa: E402

SIZES = {"small": (12, 12, 768), "medium": (24, 16, 1024), "large": (36, 20, 1280), "xl": (48, 25, 1600)}


def main():
    args = sys.argv[1:]
    if len(args) < 2 or args[1] not in SIZES:
        print(__doc__)
        return 2
    folder, size = args[0], args[1]
    dtype = args[args.index("--dtype") + 1] if "--dtype" in args else "F16"
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 6
    L, NH, C = SIZES[size]
    if os.path.exists(os.path.join(folder, "model.safetensors")):
        print(f"{folder}: already written")
        return 0
    print(f"writing {folder}: random weights with GPT-2 {size}'s shapes ({L} layers, {NH} heads, {C} wide), {dtype}",
          flush=True)
    t = gpt2_ref.random_gpt2(L, NH, C, 1024, seed=seed)
    t = {k: v for k, v in t.items() if not re.fullmatch(r"h\.\d+\.attn\.bias", k)}  # the mask buffer: not needed
    gpt2_ref.write_model(folder, t, dict(n_layer=L, n_head=NH, n_embd=C, n_positions=1024, vocab_size=50257),
                         dtype=dtype)
    return 0


if __name__ == "__main__":
    sys.exit(main())
