#!/usr/bin/python3
"""An independent float64 NumPy reference for GPT-2, written from docs/gpt2-facts.md (the picoGPT way):
its own safetensors reader and writer, its own reader of gptstep's trace file format, and a forward
pass that returns every named tensor of docs/trace.md for every position.

Shares no code with src/: if both agree, both follow the spec.
"""
import json
import re
import struct

import numpy as np

# --------------------------------------------------------------------------- safetensors


def bf16_bits(a):
    """float32 -> bfloat16 bits, round to nearest even."""
    b = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    b = (b + 0x7FFF + ((b >> 16) & 1)) >> 16
    return b.astype(np.uint16)


def st_write(path, tensors, dtype="F32", metadata=None, pad=True, skew=0):
    """Writes {name: float array} as a .safetensors file in dtype F32, F16 or BF16, its header padded with
    spaces so that the data starts at a 64-byte boundary (as tools/train/export.py writes it: gptstep uses
    float32 there in place). skew: spaces after that, so that the data starts off it (GPT-2's own files
    start at byte 14,291; safetensors' own writers pad to 8 bytes)."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, arr in tensors.items():
        a = np.asarray(arr)
        if dtype == "F32":
            raw = a.astype("<f4").tobytes()
        elif dtype == "F16":
            raw = a.astype("<f2").tobytes()
        elif dtype == "BF16":
            raw = bf16_bits(a).astype("<u2").tobytes()
        else:
            raise ValueError(dtype)
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode()
    if pad:
        h += b" " * (-(8 + len(h)) % 64)
    h += b" " * skew
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def st_read(path):
    """Reads a .safetensors file into {name: float64 array} (F32, F16, BF16)."""
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = data[base + b:base + end]
        if e["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif e["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2")
        elif e["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            continue
        out[name] = a.astype(np.float64).reshape(e["shape"])
    return out


def random_gpt2(n_layer, n_head, n_embd, n_ctx, n_vocab=50257, seed=0, prefix=""):
    """A random model with GPT-2's tensor names, in Conv1D layout; weights large enough that attention
    patterns and the next-token distribution are far from uniform."""
    rng = np.random.default_rng(seed)
    C = n_embd

    def normal(*shape, std=0.02):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    t = {prefix + "wte.weight": normal(n_vocab, C, std=0.1), prefix + "wpe.weight": normal(n_ctx, C, std=0.05)}
    for i in range(n_layer):
        p = f"{prefix}h.{i}."
        t[p + "ln_1.weight"] = 1 + normal(C, std=0.1)
        t[p + "ln_1.bias"] = normal(C, std=0.05)
        t[p + "attn.c_attn.weight"] = normal(C, 3 * C, std=0.08)
        t[p + "attn.c_attn.bias"] = normal(3 * C, std=0.05)
        t[p + "attn.c_proj.weight"] = normal(C, C, std=0.04)
        t[p + "attn.c_proj.bias"] = normal(C, std=0.02)
        t[p + "ln_2.weight"] = 1 + normal(C, std=0.1)
        t[p + "ln_2.bias"] = normal(C, std=0.05)
        t[p + "mlp.c_fc.weight"] = normal(C, 4 * C, std=0.04)
        t[p + "mlp.c_fc.bias"] = normal(4 * C, std=0.05)
        t[p + "mlp.c_proj.weight"] = normal(4 * C, C, std=0.02)
        t[p + "mlp.c_proj.bias"] = normal(C, std=0.02)
        t[p + "attn.bias"] = np.tril(np.ones((1, 1, n_ctx, n_ctx), dtype=np.float32))  # the mask buffer
    t[prefix + "ln_f.weight"] = 1 + normal(C, std=0.1)
    t[prefix + "ln_f.bias"] = normal(C, std=0.05)
    return t


def write_model(folder, tensors, config, dtype="F32", skew=0):
    import os
    os.makedirs(folder, exist_ok=True)
    st_write(os.path.join(folder, "model.safetensors"), tensors, dtype, metadata={"format": "pt"}, skew=skew)
    if config is not None:
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(config, f, indent=2)


# --------------------------------------------------------------------------- the forward pass


def layernorm(x, g, b, eps=1e-5):  # [T, C] -> [T, C]
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)  # biased variance
    return (x - mu) / np.sqrt(var + eps) * g + b


def gelu_new(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def softmax(x):  # over the last axis; -inf -> 0
    m = x.max(-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(-1, keepdims=True)


class Reference:
    def __init__(self, folder):
        import os
        w = st_read(os.path.join(folder, "model.safetensors"))
        if "wte.weight" not in w:
            w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
        self.w = w
        cfg_path = os.path.join(folder, "config.json")
        cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
        self.C = w["wte.weight"].shape[1]
        self.L = sum(1 for k in w if k.endswith(".ln_1.weight"))
        self.NH = cfg.get("n_head", self.C // 64)
        self.out = w.get("lm_head.weight", w["wte.weight"])

    def means(self, tokens):
        """Mean ablation's values: each part's mean over the positions of a clean run of tokens."""
        r = self.forward(tokens)
        m = {"pos_emb": r["pos_emb"].mean(axis=0)}
        for i in range(self.L):
            for k in ("attn.heads", "attn.proj", "mlp.gelu", "mlp.proj"):
                m[f"h.{i}.{k}"] = r[f"h.{i}.{k}"].mean(axis=0)
        return m

    def forward(self, tokens, last_only=False, ablate=(), patch=None, means=None):
        """All named tensors for positions 0..T-1 computed at once: {name: array [T, ...]}.
        Attention rows cover all T keys (future keys masked), as in a batched prefill.
        ablate: specs switched off at every position (docs/experiments.md): "L.H" a head's slice of
        attn.heads, "L.mlp.N" a neuron of mlp.gelu, "L.attn" / "L.mlp" a sublayer's output, "pos" the
        position embedding; set to zero, or with means (from means()) to the part's mean.
        patch: (kind, layer, pos, value) puts value in place of h.L.resid_out ("resid") or h.L.mlp.proj
        ("mlp") at pos, or of head H's output ("head", (layer, H), value [T, HS]) at every position."""
        heads_off = {tuple(map(int, a.split("."))) for a in ablate if re.fullmatch(r"\d+\.\d+", a)}
        neurons_off = {(int(a.split(".")[0]), int(a.split(".")[2])) for a in ablate if re.fullmatch(r"\d+\.mlp\.\d+", a)}
        attn_off = {int(a.split(".")[0]) for a in ablate if re.fullmatch(r"\d+\.attn", a)}
        mlp_off = {int(a.split(".")[0]) for a in ablate if re.fullmatch(r"\d+\.mlp", a)}
        w, C, NH = self.w, self.C, self.NH
        HS = C // NH
        T = len(tokens)
        r = {}
        r["tok_emb"] = w["wte.weight"][tokens]
        M = means or {}
        r["pos_emb"] = w["wpe.weight"][:T].copy()
        if "pos" in ablate:
            r["pos_emb"][:] = M.get("pos_emb", 0.0)
        x = r["embed"] = r["tok_emb"] + r["pos_emb"]
        mask = np.tril(np.ones((T, T), dtype=bool))
        for i in range(self.L):
            p = f"h.{i}."
            ln1 = layernorm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"])
            qkv = ln1 @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x @ W + b
            q, k, v = (qkv[:, j * C:(j + 1) * C].reshape(T, NH, HS) for j in range(3))
            scores = np.einsum("thd,shd->hts", q, k) / np.sqrt(HS)  # [NH, T, T]
            masked = np.where(mask[None], scores, -np.inf)
            weights = softmax(masked)
            heads = np.einsum("hts,shd->thd", weights, v)  # [T, NH, HS]
            for (li, hi) in heads_off:
                if li == i:
                    heads[:, hi, :] = M[p + "attn.heads"][hi] if M else 0
            if patch and patch[0] == "head" and patch[1][0] == i:
                heads[:, patch[1][1], :] = patch[3]
            proj = heads.reshape(T, C) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            if i in attn_off:
                proj = np.zeros_like(proj) + (M[p + "attn.proj"] if M else 0)
            x = x + proj
            r[p + "resid_mid"] = x
            ln2 = layernorm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
            fc = ln2 @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]
            g = gelu_new(fc)
            for (li, ni) in neurons_off:
                if li == i:
                    g[:, ni] = M[p + "mlp.gelu"][ni] if M else 0
            mp = g @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
            if i in mlp_off:
                mp = np.zeros_like(mp) + (M[p + "mlp.proj"] if M else 0)
            if patch and patch[0] == "mlp" and patch[1] == i:
                mp = mp.copy()
                mp[patch[2]] = patch[3]
            x = x + mp
            if patch and patch[0] == "resid" and patch[1] == i:
                x = x.copy()
                x[patch[2]] = patch[3]
            r.update({p + "ln_1": ln1, p + "attn.q": q, p + "attn.k": k, p + "attn.v": v,
                      p + "attn.scores": scores.transpose(1, 0, 2), p + "attn.masked": masked.transpose(1, 0, 2),
                      p + "attn.weights": weights.transpose(1, 0, 2), p + "attn.heads": heads,
                      p + "attn.proj": proj, p + "ln_2": ln2, p + "mlp.fc": fc, p + "mlp.gelu": g,
                      p + "mlp.proj": mp, p + "resid_out": x})
        r["ln_f"] = layernorm(x, w["ln_f.weight"], w["ln_f.bias"])
        r["logits"] = (r["ln_f"][-1:] if last_only else r["ln_f"]) @ self.out.T
        r["probs"] = softmax(r["logits"])
        return r

    def greedy(self, tokens, n, ablate=(), means=None):
        tokens = list(tokens)
        for _ in range(n):
            tokens.append(int(np.argmax(self.forward(tokens, last_only=True, ablate=ablate, means=means)["logits"][-1])))
        return tokens


# --------------------------------------------------------------------------- gptstep trace files

KINDS = ["tok_emb", "pos_emb", "embed"]
LAYER_KINDS = ["ln_1", "attn.q", "attn.k", "attn.v", "attn.scores", "attn.masked", "attn.weights", "attn.heads",
               "attn.proj", "resid_mid", "ln_2", "mlp.fc", "mlp.gelu", "mlp.proj", "resid_out"]
FINAL_KINDS = ["ln_f", "logits", "probs"]


def read_trace(path):
    """Reads a gptstep trace (docs/trace.md) into a dict with config, steps and positions; each position
    has token, step, n_keys and tensors {name: float32 array}."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"GPTSTEPT":
        raise ValueError(f"{path}: bad magic")
    o = 8
    version, mode, L, NH, C, V, NCTX, FF, n_ids = struct.unpack_from("<9i", data, o)
    o += 36
    (eps,) = struct.unpack_from("<f", data, o)
    o += 4
    (nl,) = struct.unpack_from("<i", data, o)
    o += 4
    model = data[o:o + nl].decode()
    o += nl
    interventions = ""
    if version >= 2:  # the interventions the run was made with
        (il,) = struct.unpack_from("<i", data, o)
        o += 4
        interventions = data[o:o + il].decode()
        o += il
    names = KINDS + [f"h.{i}.{k}" for i in range(L) for k in LAYER_KINDS] + FINAL_KINDS
    assert len(names) == n_ids
    (ns,) = struct.unpack_from("<i", data, o)
    o += 4
    steps = []
    for _ in range(ns):
        pos0, npos, chosen, prob, greedy, temp, topk, topp, seed = struct.unpack_from("<iiifififQ", data, o)
        o += 40
        steps.append(dict(pos0=pos0, n_pos=npos, chosen=chosen, chosen_prob=prob, greedy=greedy,
                          temperature=temp, top_k=topk, top_p=topp, seed=seed))
    (npos,) = struct.unpack_from("<i", data, o)
    o += 4
    HS = C // NH
    positions = []
    for _ in range(npos):
        token, step, n_keys, _res, nf = struct.unpack_from("<iiiiQ", data, o)
        o += 24
        offs = np.frombuffer(data, dtype="<i8", count=n_ids, offset=o)
        o += 8 * n_ids
        floats = np.frombuffer(data, dtype="<f4", count=nf, offset=o)
        o += 4 * nf
        tensors = {}
        for name, off in zip(names, offs):
            if off < 0:
                continue
            kind = name.split(".", 2)[-1] if name.startswith("h.") else name
            if kind in ("attn.q", "attn.k", "attn.v", "attn.heads"):
                shape = (NH, HS)
            elif kind in ("attn.scores", "attn.masked", "attn.weights"):
                shape = (NH, n_keys)
            elif kind in ("mlp.fc", "mlp.gelu"):
                shape = (FF,)
            elif kind in ("logits", "probs"):
                shape = (V,)
            else:
                shape = (C,)
            tensors[name] = floats[off:off + int(np.prod(shape))].reshape(shape)
        positions.append(dict(token=token, step=step, n_keys=n_keys, tensors=tensors))
    assert o == len(data), "trailing bytes in trace"
    return dict(mode=mode, config=dict(n_layer=L, n_head=NH, n_embd=C, n_vocab=V, n_ctx=NCTX, n_inner=FF),
                model=model, interventions=interventions, steps=steps, positions=positions)
