#!/usr/bin/python3
"""Exports a training checkpoint as a Hugging Face GPT-2 model directory that gptstep (and
transformers) can load: model.safetensors with GPT-2's tensor names in Conv1D layout ([in, out]),
config.json, and the GPT-2 tokenizer files.

    /usr/bin/python3 tools/train/export.py RUNDIR/checkpoint.pt models/storybook [--dtype F16|F32]
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def hf_tensors(state, n_layer):
    """Training names (nn.Linear [out, in]) -> GPT-2 names (Conv1D [in, out])."""
    t = {"wte.weight": state["wte.weight"], "wpe.weight": state["wpe.weight"]}
    linear = {"c_attn": "attn.c_attn", "attn_proj": "attn.c_proj", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
    for i in range(n_layer):
        for ln in ("ln_1", "ln_2"):
            for p in ("weight", "bias"):
                t[f"h.{i}.{ln}.{p}"] = state[f"h.{i}.{ln}.{p}"]
        for ours, theirs in linear.items():
            t[f"h.{i}.{theirs}.weight"] = state[f"h.{i}.{ours}.weight"].t()  # Conv1D layout
            t[f"h.{i}.{theirs}.bias"] = state[f"h.{i}.{ours}.bias"]
    t["ln_f.weight"], t["ln_f.bias"] = state["ln_f.weight"], state["ln_f.bias"]
    return {k: v.detach().float().contiguous().numpy() for k, v in t.items()}


def read_model_dir(path):
    """The inverse of hf_tensors: a model directory's model.safetensors (F32/F16/BF16) and config.json
    as (config, training state dict), to evaluate exactly the weights that ship."""
    with open(os.path.join(path, "config.json")) as f:
        c = json.load(f)
    cfg = dict(n_layer=c["n_layer"], n_head=c["n_head"], n_embd=c["n_embd"], n_ctx=c["n_positions"],
               n_vocab=c["vocab_size"])
    with open(os.path.join(path, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    t = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        raw = np.frombuffer(data[a:b], dtype={"F32": "<f4", "F16": "<f2", "BF16": "<u2"}[info["dtype"]])
        if info["dtype"] == "BF16":
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        t[name.removeprefix("transformer.")] = torch.from_numpy(raw.astype(np.float32).reshape(info["shape"]))
    state = {"wte.weight": t["wte.weight"], "wpe.weight": t["wpe.weight"],
             "ln_f.weight": t["ln_f.weight"], "ln_f.bias": t["ln_f.bias"]}
    linear = {"c_attn": "attn.c_attn", "attn_proj": "attn.c_proj", "c_fc": "mlp.c_fc", "mlp_proj": "mlp.c_proj"}
    for i in range(cfg["n_layer"]):
        for ln in ("ln_1", "ln_2"):
            for p in ("weight", "bias"):
                state[f"h.{i}.{ln}.{p}"] = t[f"h.{i}.{ln}.{p}"]
        for ours, theirs in linear.items():
            state[f"h.{i}.{ours}.weight"] = t[f"h.{i}.{theirs}.weight"].t().contiguous()
            state[f"h.{i}.{ours}.bias"] = t[f"h.{i}.{theirs}.bias"]
    return cfg, state


def write_safetensors(path, tensors, dtype):
    """The safetensors layout: u64 header length, JSON header, then the data. The header is padded with
    spaces so that the data starts at a 64-byte boundary (safetensors' own writers pad to 8): gptstep then
    reads float32 weights in place from the mapped file, where every 64-byte load stays in one cache line."""
    np_dtype = {"F32": "<f4", "F16": "<f2"}[dtype]
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        raw = tensors[name].astype(np_dtype).tobytes()
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-(8 + len(h)) % 64)
    # written beside and renamed over the old file: a gptstep still running on the old one keeps reading
    # it (it reads float32 weights in place from the mapped file: rewriting that file in place would stop
    # it with "the file changed on disk")
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--dtype", default="F16", choices=["F16", "F32"])
    args = ap.parse_args()
    ckpt = torch.load(args.checkpoint, map_location="cpu")
    cfg = ckpt["config"]
    tensors = hf_tensors(ckpt["model"], cfg["n_layer"])
    if args.dtype == "F16":
        big = max(float(np.abs(v).max()) for v in tensors.values())
        if big > 60000:
            sys.exit(f"a weight of magnitude {big} does not fit float16: export with --dtype F32")
    os.makedirs(args.out, exist_ok=True)
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, args.dtype)
    config = {
        "architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "activation_function": "gelu_new",
        "n_layer": cfg["n_layer"], "n_head": cfg["n_head"], "n_embd": cfg["n_embd"],
        "n_positions": cfg["n_ctx"], "n_ctx": cfg["n_ctx"], "vocab_size": cfg["n_vocab"], "n_inner": None,
        "layer_norm_epsilon": 1e-5, "bos_token_id": 50256, "eos_token_id": 50256,
        "attn_pdrop": 0.0, "embd_pdrop": 0.0, "resid_pdrop": 0.0, "initializer_range": 0.02,
        "tie_word_embeddings": True,
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    for name in ("encoder.json", "vocab.bpe", "LICENSE"):
        shutil.copyfile(os.path.join(ROOT, "models", "tokenizer", name), os.path.join(args.out, name))
    n = sum(v.size for v in tensors.values())
    print(f"{args.out}: {n:,} parameters, step {ckpt['step']}, {ckpt['tokens_seen']:,} tokens seen, {args.dtype}")


if __name__ == "__main__":
    main()
