#!/usr/bin/python3
"""Compares every named tensor gptstep records, at every position, with the float64 NumPy reference
(tests/gpt2_ref.py), on random models the test writes as real safetensors files: a tiny model in F32,
F16 and BF16 (with and without config.json, with the "transformer." prefix, with lm_head.weight), and
a model with GPT-2 small's exact shapes (F32 and F16). Float16 matrices used in place give the trace of
the same weights converted at load, byte for byte. The trace comes from KV-cached decoding; the reference
recomputes the whole sequence each time, so agreement also shows cache == full recomputation.
Also: greedy generation equals the reference's greedy tokens; the same seed gives the same text.

    tests/test_forward.py GPTSTEP OUTDIR [--quick]
"""
import json
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_ref  # noqa: E402

TOL = 1e-4  # max |gptstep - reference| / max |reference|, per tensor
failures = []
passes = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    (passes if cond else failures).append(what)


def weights_where(gptstep, folder):
    """Where a load put the weights, as `generate --verbose` says it ("float32 used in place", "converted
    to float32", "partly converted")."""
    r = subprocess.run([gptstep, "generate", "--model", folder, "--prompt", "a", "-n", "0", "--verbose"],
                       capture_output=True, text=True)
    m = re.search(r"parameters, ([^;]*);", r.stderr)
    return m.group(1) if m else r.stderr.strip()


def run(args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {r.stderr.strip()}")
    return r.stdout


def compare_trace(gptstep, folder, prompt, n, label, verbose, ablate=(), mode="zero"):
    out = os.path.join(folder, "trace.bin")
    run([gptstep, "trace", "--model", folder, "--prompt", prompt, "-n", str(n), "--greedy", "-o", out] +
        [a for spec in ablate for a in ("--ablate", spec)] + (["--ablate-mode", mode] if mode != "zero" else []))
    tr = gpt2_ref.read_trace(out)
    if ablate:
        check(tr["interventions"] == ", ".join(ablate) + f" ({mode})", f"{label}: the trace records its ablations "
              f"('{tr['interventions']}')")
    tokens = [p["token"] for p in tr["positions"]]
    prompt_len = tr["steps"][0]["n_pos"]
    # mean ablation: each part's mean over the prompt's positions, in a clean run of the prompt
    means = gpt2_ref.Reference(folder).means(tokens[:prompt_len]) if mode == "mean" else None
    ref = gpt2_ref.Reference(folder).forward(tokens, ablate=ablate, means=means)
    worst = {}  # name -> (max abs err, max |ref|)
    for p, pos in enumerate(tr["positions"]):
        for name, got in pos["tensors"].items():
            want = ref[name][p]
            if name.endswith(("attn.scores", "attn.masked", "attn.weights")):
                want = want[:, :pos["n_keys"]]  # the keys that existed when this position ran
            got = got.astype(np.float64)
            if got.shape != want.shape:
                check(False, f"{label}: {name} at {p}: shape {got.shape}, expected {want.shape}")
                continue
            inf_ok = np.array_equal(np.isinf(got), np.isinf(want))
            finite = np.isfinite(want)
            err = np.abs(got[finite] - want[finite]).max(initial=0.0) if inf_ok else np.inf
            scale = np.abs(want[finite]).max(initial=0.0)
            e0, s0 = worst.get(name, (0.0, 0.0))
            worst[name] = (max(e0, err), max(s0, scale))
    expected = len(gpt2_ref.KINDS) + tr["config"]["n_layer"] * len(gpt2_ref.LAYER_KINDS) + len(gpt2_ref.FINAL_KINDS)
    check(len(worst) == expected, f"{label}: all {expected} tensor names recorded (got {len(worst)})")
    bad = []
    for name, (err, scale) in worst.items():
        rel = err / scale if scale > 0 else err
        if verbose or rel > TOL:
            print(f"     {name:24s} max abs {err:.3e}  rel {rel:.3e}")
        if not rel <= TOL:
            bad.append(name)
    rels = [e / s if s > 0 else e for e, s in worst.values()]
    check(not bad, f"{label}: {len(worst)} tensors x {len(tr['positions'])} positions within {TOL:g} "
                   f"(worst rel {max(rels):.2e}){' bad: ' + ', '.join(bad[:5]) if bad else ''}")
    # the trace's chosen tokens are greedy: each is the argmax of the reference's logits
    greedy = gpt2_ref.Reference(folder).greedy(tokens[:prompt_len], n, ablate=ablate, means=means)
    chosen = tokens[:prompt_len] + [s["chosen"] for s in tr["steps"]]
    check(chosen == greedy, f"{label}: greedy tokens equal the reference's {greedy[prompt_len:]}")
    return tr


def main():
    gptstep, outdir = sys.argv[1], sys.argv[2]
    quick = "--quick" in sys.argv
    os.makedirs(outdir, exist_ok=True)
    tiny = gpt2_ref.random_gpt2(n_layer=2, n_head=4, n_embd=64, n_ctx=128, seed=1)
    cfg = dict(n_layer=2, n_head=4, n_embd=64, n_positions=128, vocab_size=50257, layer_norm_epsilon=1e-5,
               activation_function="gelu_new")
    prompt = "Once upon a time, there was a"
    long_prompt_f16 = " ".join(f"token{i}" for i in range(12))  # > 16 positions: the tiled matmuls, not one row
    for dtype in ("F32", "F16", "BF16"):
        folder = os.path.join(outdir, f"tiny-{dtype.lower()}")
        gpt2_ref.write_model(folder, tiny, cfg, dtype)
        compare_trace(gptstep, folder, prompt, 6, f"tiny {dtype}", verbose=dtype == "F32")

    # variants of the checkpoint layout: float32 data off a float's boundary, as in GPT-2's own files (read
    # by copying, where aligned float32 is used in place from the mapped file)
    # float32 used in place from the mapped file (what gptstep does where the kernel gives no huge pages),
    # and copied into huge pages (its choice where it does): both against the reference
    for copy in ("0", "1"):
        os.environ["GPTSTEP_COPY_WEIGHTS"] = copy
        folder = os.path.join(outdir, "tiny-f32")
        where, want = weights_where(gptstep, folder), "converted to float32" if copy == "1" else "float32 used in place"
        check(where == want, f"tiny F32, data at a 64-byte boundary, GPTSTEP_COPY_WEIGHTS={copy}: {where} (expected {want})")
        compare_trace(gptstep, folder, prompt, 3,
                      "tiny F32 " + ("copied into fresh memory" if copy == "1" else "used in place from the mapped file"), verbose=False)
    # data off a cache line's boundary is copied even when asked to be used in place: at a float's
    # boundary (8 bytes on, as safetensors' own writers pad) and off it (3 bytes on)
    for skew in (8, 3):
        folder = os.path.join(outdir, f"tiny-f32-skew{skew}")
        gpt2_ref.write_model(folder, tiny, cfg, "F32", skew=skew)
        where = weights_where(gptstep, folder)
        check(where == "converted to float32", f"tiny F32, data {skew} bytes past a 64-byte boundary, "
              f"GPTSTEP_COPY_WEIGHTS=0: {where} (expected converted to float32)")
    del os.environ["GPTSTEP_COPY_WEIGHTS"]
    compare_trace(gptstep, folder, prompt, 3, "tiny F32 with its data at an odd byte (copied, not used in place)", verbose=False)
    # float16 matrices used in place (the kernels make them float32 as they read them), at a 64-byte
    # boundary and 3 bytes off it, with the CPU's best conversion, F16C's and the plain one: the same
    # trace, byte for byte, as the weights converted at load (GPTSTEP_COPY_WEIGHTS=1), and each against
    # the reference
    traces = {}
    for skew in (0, 3):
        folder = os.path.join(outdir, "tiny-f16" if skew == 0 else f"tiny-f16-skew{skew}")
        if skew:
            gpt2_ref.write_model(folder, tiny, cfg, "F16", skew=skew)
        for copy, conv in (("1", "best"), ("0", "best"), ("0", "f16c"), ("0", "plain")):
            os.environ["GPTSTEP_COPY_WEIGHTS"], os.environ["GPTSTEP_F16_CONVERT"] = copy, conv
            want = "converted to float32" if copy == "1" else "float16 used in place"
            where = weights_where(gptstep, folder)
            how = f"tiny F16, data {skew} bytes past a 64-byte boundary, GPTSTEP_COPY_WEIGHTS={copy} GPTSTEP_F16_CONVERT={conv}"
            check(where == want, f"{how}: {where} (expected {want})")
            tr = compare_trace(gptstep, folder, long_prompt_f16, 3, how, verbose=False)
            traces[(skew, copy, conv)] = [(k, v.tobytes()) for p in tr["positions"] for k, v in sorted(p["tensors"].items())]
    del os.environ["GPTSTEP_COPY_WEIGHTS"], os.environ["GPTSTEP_F16_CONVERT"]
    first = traces[(0, "1", "best")]
    for (skew, copy, conv), tr in traces.items():
        same = sum(a == b for a, b in zip(tr, first))
        check(len(tr) == len(first) and same == len(first), f"tiny F16, data {skew} bytes off, GPTSTEP_COPY_WEIGHTS={copy} "
              f"GPTSTEP_F16_CONVERT={conv}: {same} of {len(first)} recorded tensors byte for byte the same as converted at load")
    # variants of the checkpoint layout
    folder = os.path.join(outdir, "tiny-prefixed")
    gpt2_ref.write_model(folder, gpt2_ref.random_gpt2(2, 4, 64, 128, seed=2, prefix="transformer."), cfg)
    compare_trace(gptstep, folder, prompt, 3, "tiny with transformer. prefix", verbose=False)
    folder = os.path.join(outdir, "tiny-lmhead")
    t = gpt2_ref.random_gpt2(2, 4, 64, 128, seed=3)
    t["lm_head.weight"] = gpt2_ref.random_gpt2(1, 1, 64, 1, seed=4)["wte.weight"]
    gpt2_ref.write_model(folder, t, cfg)
    compare_trace(gptstep, folder, prompt, 3, "tiny with separate lm_head", verbose=False)
    folder = os.path.join(outdir, "tiny-noconfig")
    gpt2_ref.write_model(folder, gpt2_ref.random_gpt2(3, 2, 128, 32, seed=5), None)
    compare_trace(gptstep, folder, prompt, 3, "tiny without config.json (sizes inferred)", verbose=False)

    # a prompt longer than 64 positions (the trace grows its storage while the forward pass writes)
    long_prompt = " ".join(f"word{i}" for i in range(40))
    compare_trace(gptstep, os.path.join(outdir, "tiny-f32"), long_prompt, 4, "tiny F32, 81-token prompt", verbose=False)
    # the same with the trace in a file (what a long text on a big model does): the prompt runs in blocks
    os.environ["GPTSTEP_TRACE_SPILL_MB"] = "0"
    compare_trace(gptstep, os.path.join(outdir, "tiny-f32"), long_prompt, 4, "tiny F32, 81-token prompt, trace in a file",
                  verbose=False)
    del os.environ["GPTSTEP_TRACE_SPILL_MB"]
    # the file is chosen by the memory the prompt's trace will really take, its positions run in one
    # pass with as many keys as it has positions: a threshold 1% under that sends it to a file (its
    # first block's positions then have 64 keys), 1% over keeps it in memory
    c = json.load(open(os.path.join(outdir, "tiny-f32", "config.json")))
    C, L, NH, V = c["n_embd"], c["n_layer"], c["n_head"], c["vocab_size"]
    n = len(run([gptstep, "tokens", "--model", os.path.join(outdir, "tiny-f32"), "--ids", long_prompt]).split())
    # what a position keeps (docs/trace.md): tok_emb, pos_emb, embed, ln_f; a layer's q, k, v, heads, attn.proj,
    # mlp.fc, mlp.proj, resid_out and its scores up to itself (the last position: all n; masked, weights,
    # ln_1, resid_mid, ln_2, mlp.gelu and the later keys' scores derived on read); and the last position's
    # logits and probs
    held = 4 * (n * (4 * C + L * (7 * C + 4 * C)) + L * NH * (n * (n - 1) // 2 + n) + 2 * V)
    out = os.path.join(outdir, "tiny-f32", "spill.bin")
    for factor, spilled in ((0.99, True), (1.01, False)):
        os.environ["GPTSTEP_TRACE_SPILL_MB"] = f"{held * factor / 1048576:.6f}"
        run([gptstep, "trace", "--model", os.path.join(outdir, "tiny-f32"), "--prompt", long_prompt, "-n", "0", "-o", out])
        keys = gpt2_ref.read_trace(out)["positions"][0]["n_keys"]
        check(keys == (64 if spilled else n), f"a {n}-token prompt whose trace takes {held / 1e6:.3f} MB, threshold "
              f"{factor:.2f} of it: {'in a file (64 keys at position 0)' if spilled else f'in memory ({n} keys)'}: {keys} keys")
    del os.environ["GPTSTEP_TRACE_SPILL_MB"]

    # ablations: every kind, alone and together, against the reference doing the same
    folder = os.path.join(outdir, "tiny-f32")
    for spec in (["1.2"], ["0.mlp.17"], ["1.attn"], ["0.mlp"], ["pos"], ["0.0", "0.3", "1.mlp.200", "1.attn"]):
        compare_trace(gptstep, folder, prompt, 4, f"tiny F32 ablating {', '.join(spec)}", verbose=False, ablate=spec)
    for spec in (["1.2"], ["0.mlp.17"], ["1.attn"], ["0.mlp"], ["pos"], ["0.0", "0.3", "1.mlp.200", "1.attn"]):
        compare_trace(gptstep, folder, prompt, 4, f"tiny F32 mean-ablating {', '.join(spec)}", verbose=False, ablate=spec,
                      mode="mean")
    probs = {}
    for name, extra in (("plain", []), ("knocked", ["--ablate", "0.mlp", "--ablate", "1.mlp"])):
        out = os.path.join(outdir, f"ablate-{name}.trace")
        run([gptstep, "trace", "--model", folder, "--prompt", prompt, "-n", "0", "-o", out] + extra)
        probs[name] = gpt2_ref.read_trace(out)["positions"][-1]["tensors"]["logits"]
    check(np.abs(probs["plain"] - probs["knocked"]).max() > 0.1, "ablating both MLPs changes the next-token logits")

    # direct logit attribution: every part's contribution recomputed with NumPy, and the parts add up
    out = run([gptstep, "attribute", "--model", folder, "--prompt", prompt, "--token", " dragon"])
    lines = out.splitlines()
    rows = [list(map(float, l.split()[1:])) for l in lines if l[:5].strip().isdigit()]
    ref = gpt2_ref.Reference(folder)
    toks = [int(t) for t in run([gptstep, "tokens", "--ids", prompt]).split()]
    r = ref.forward(toks)
    w, C, NH = ref.w, ref.C, ref.NH
    HS, pos = C // NH, len(toks) - 1
    (tid,) = [int(t) for t in run([gptstep, "tokens", "--ids", " dragon"]).split()]
    u, x = ref.out[tid], r[f"h.{ref.L - 1}.resid_out"][pos]
    sigma = np.sqrt(x.var() + 1e-5)
    f = lambda o: ((o - o.mean()) / sigma * w["ln_f.weight"]) @ u  # noqa: E731
    worst = 0.0
    for l in range(ref.L):
        Wo = w[f"h.{l}.attn.c_proj.weight"]
        for h in range(NH):
            want = f(r[f"h.{l}.attn.heads"][pos, h] @ Wo[h * HS:(h + 1) * HS])
            worst = max(worst, abs(rows[l][h] - want))
        worst = max(worst, abs(rows[l][NH] - f(w[f"h.{l}.attn.c_proj.bias"])), abs(rows[l][NH + 1] - f(r[f"h.{l}.mlp.proj"][pos])))
    check(len(rows) == ref.L and worst < 1e-3, f"attribution: every head, bias and MLP within 1e-3 of NumPy's (worst {worst:.1e})")
    total = [l for l in lines if l.startswith("sum of the parts")][0]
    got_sum, got_logit = float(total.split(":")[1].split(";")[0]), float(total.split("logit:")[1].split()[0])
    want_logit = (r["ln_f"][pos] @ u)
    check(abs(got_sum - got_logit) < 1e-3 and abs(got_logit - want_logit) < 1e-3 * max(1, abs(want_logit)),
          f"attribution: the parts add up to the logit ({got_sum} vs {got_logit}; NumPy {want_logit:.4f})")

    # attribution of a difference of two logits (" dragon" - " castle"): every part against NumPy with
    # u = W_U[dragon] - W_U[castle], and the parts add up to the difference
    out = run([gptstep, "attribute", "--model", folder, "--prompt", prompt, "--metric", '" dragon"-" castle"'])
    lines = out.splitlines()
    rows = [list(map(float, l.split()[1:])) for l in lines if l[:5].strip().isdigit()]
    (cid,) = [int(t) for t in run([gptstep, "tokens", "--ids", " castle"]).split()]
    u = ref.out[tid] - ref.out[cid]
    worst = 0.0
    for l in range(ref.L):
        Wo = w[f"h.{l}.attn.c_proj.weight"]
        for h in range(NH):
            worst = max(worst, abs(rows[l][h] - f(r[f"h.{l}.attn.heads"][pos, h] @ Wo[h * HS:(h + 1) * HS])))
        worst = max(worst, abs(rows[l][NH] - f(w[f"h.{l}.attn.c_proj.bias"])), abs(rows[l][NH + 1] - f(r[f"h.{l}.mlp.proj"][pos])))
    check(len(rows) == ref.L and worst < 1e-3, f"attribution of logit(dragon) - logit(castle): every part within 1e-3 of NumPy's "
          f"(worst {worst:.1e})")
    total = [l for l in lines if l.startswith("sum of the parts")][0]
    got_sum, got_diff = float(total.split(":")[1].split(";")[0]), float(total.split("logits:")[1].split()[0])
    want_diff = r["ln_f"][pos] @ u
    check(lines[0].startswith('logit(" dragon") \u2212 logit(" castle")') and abs(got_sum - got_diff) < 1e-3 and
          abs(got_diff - want_diff) < 1e-3 * max(1, abs(want_diff)),
          f"attribution: the parts add up to the difference of the logits ({got_sum} vs {got_diff}; NumPy {want_diff:.4f})")

    # activation patching: every layer x position (and every head) against the reference patching the same
    clean_p, corrupt_p = "Once upon a time, there was a", "Once upon a day, there was a"
    toks_c = [int(t) for t in run([gptstep, "tokens", "--ids", clean_p]).split()]
    toks_x = [int(t) for t in run([gptstep, "tokens", "--ids", corrupt_p]).split()]
    rc_ = ref.forward(toks_c)
    # the target: the token whose logit the corruption moves most (random weights barely separate the top
    # token's, and a sweep refuses differences under 0.5 as noise)
    tgt = int(np.argmax(rc_["logits"][-1] - ref.forward(toks_x)["logits"][-1]))
    lc, lx = rc_["logits"][-1][tgt], ref.forward(toks_x)["logits"][-1][tgt]
    for what in ("resid", "mlp", "heads"):
        out = run([gptstep, "patch", "--model", folder, "--clean", clean_p, "--corrupt", corrupt_p, "--target-id", str(tgt),
                   "--what", what])
        table = [list(map(float, l.split()[1:])) for l in out.splitlines() if l.startswith("h.") or l[:2].strip().isdigit()]
        worst = 0.0
        for l in range(ref.L):
            if what == "heads":
                for h in range(NH):
                    lp = ref.forward(toks_x, patch=("head", (l, h), None, rc_[f"h.{l}.attn.heads"][:, h]))["logits"][-1][tgt]
                    worst = max(worst, abs(table[l * NH + h][0] - (lp - lx) / (lc - lx)))
            else:
                name = "resid_out" if what == "resid" else "mlp.proj"
                for p_ in range(len(toks_c)):
                    lp = ref.forward(toks_x, patch=(what, l, p_, rc_[f"h.{l}.{name}"][p_]))["logits"][-1][tgt]
                    worst = max(worst, abs(table[l][p_] - (lp - lx) / (lc - lx)))
        check(worst < 2e-3, f"patching {what}: every cell within 2e-3 of the reference's (worst {worst:.1e})")
        if what == "resid":
            check(abs(table[-1][-1] - 1.0) < 1e-3, "patching the clean run's last residual stream restores 100%")
    # patching a difference of two logits (the clean top token minus the corrupted run's), as papers do
    rx_ = ref.forward(toks_x)
    other = int(np.argmax(rx_["logits"][-1] - rc_["logits"][-1]))  # the token the corruption raises most
    md = lambda lg: lg[tgt] - lg[other]  # noqa: E731
    mc, mx = md(rc_["logits"][-1]), md(rx_["logits"][-1])
    out = run([gptstep, "patch", "--model", folder, "--clean", clean_p, "--corrupt", corrupt_p, "--metric", f"{tgt}-{other}"])
    table = [list(map(float, l.split()[1:])) for l in out.splitlines() if l.startswith("h.")]
    worst = 0.0
    for l in range(ref.L):
        for p_ in range(len(toks_c)):
            mp = md(ref.forward(toks_x, patch=("resid", l, p_, rc_[f"h.{l}.resid_out"][p_]))["logits"][-1])
            worst = max(worst, abs(table[l][p_] - (mp - mx) / (mc - mx)))
    check(len(table) == ref.L and abs(mc - mx) >= 0.5 and worst < 2e-3,
          f"patching the difference logit({tgt}) - logit({other}): every cell within 2e-3 of the reference's (worst {worst:.1e})")
    # the same text as clean and corrupted: nothing to restore, said in one line instead of a table of noise
    p_ = subprocess.run([gptstep, "patch", "--model", folder, "--clean", clean_p, "--corrupt", clean_p, "--target-id", str(tgt)],
                        capture_output=True, text=True)
    check(p_.returncode == 1 and "nothing for a patch to restore" in p_.stderr and p_.stderr.count("\n") == 1 and "h.0" not in p_.stdout,
          f"patching with clean = corrupted says there is nothing to restore ({p_.stderr.strip()[:120]})")

    # determinism of sampling
    folder = os.path.join(outdir, "tiny-f32")
    gen = lambda seed: run([gptstep, "generate", "--model", folder, "--prompt", prompt, "-n", "20",  # noqa: E731
                            "--temperature", "1.5", "--top-k", "0", "--seed", str(seed), "--ids"])
    a, b, c = gen(7), gen(7), gen(8)
    check(a == b, "same seed gives the same tokens")
    check(a != c, "a different seed gives different tokens")

    if not quick:
        folder = os.path.join(outdir, "gpt2-small-shapes")
        cfg_s = dict(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            gpt2_ref.write_model(folder, gpt2_ref.random_gpt2(12, 12, 768, 1024, seed=6), cfg_s, "F32")
        compare_trace(gptstep, folder, "The quick brown fox jumps over", 3, "GPT-2 small shapes F32", verbose=True)
        for mode in ("zero", "mean"):
            compare_trace(gptstep, folder, "The quick brown fox jumps over", 2, f"GPT-2 small shapes {mode}-ablating",
                          verbose=False, ablate=["5.7", "2.mlp.1000", "9.attn", "11.mlp", "pos"], mode=mode)
        # the same shapes in float16: the matrices used in place (one decoded token's products by rows,
        # a prompt's in tiles, the logits) give the trace of the weights converted at load, byte for byte
        folder = os.path.join(outdir, "gpt2-small-shapes-f16")
        if not os.path.exists(os.path.join(folder, "model.safetensors")):
            gpt2_ref.write_model(folder, gpt2_ref.random_gpt2(12, 12, 768, 1024, seed=6), cfg_s, "F16")
        got = {}
        for copy in ("1", "0"):
            os.environ["GPTSTEP_COPY_WEIGHTS"] = copy
            check(weights_where(gptstep, folder) == ("converted to float32" if copy == "1" else "float16 used in place"),
                  f"GPT-2 small shapes F16, GPTSTEP_COPY_WEIGHTS={copy}: {weights_where(gptstep, folder)}")
            tr = compare_trace(gptstep, folder, long_prompt_f16, 3, f"GPT-2 small shapes F16, GPTSTEP_COPY_WEIGHTS={copy}",
                               verbose=False)
            got[copy] = [(k, v.tobytes()) for p in tr["positions"] for k, v in sorted(p["tensors"].items())]
        del os.environ["GPTSTEP_COPY_WEIGHTS"]
        same = sum(a == b for a, b in zip(got["0"], got["1"]))
        check(len(got["0"]) == len(got["1"]) and same == len(got["1"]), f"GPT-2 small shapes F16 used in place: {same} of "
              f"{len(got['1'])} recorded tensors byte for byte the same as converted at load")
        # full recording leaves a prompt position's scores of its later keys to the first read (here:
        # saving), from the recorded q and k; attention recording computes them in the pass: the same
        # bytes, with the 16-lane kernel of 64-wide heads (docs/trace.md)
        folder = os.path.join(outdir, "gpt2-small-shapes")
        rows = {}
        for rec in ("full", "attention"):
            path = os.path.join(outdir, f"future-{rec}.trace")
            run([gptstep, "trace", "--model", folder, "--prompt", long_prompt_f16, "-n", "2", "--greedy", "--record", rec,
                 "-o", path])
            tr = gpt2_ref.read_trace(path)
            rows[rec] = [(k, v.tobytes()) for p in tr["positions"] for k, v in sorted(p["tensors"].items())
                         if k.split(".")[-1] in ("scores", "masked", "weights")]
        same = sum(a == b for a, b in zip(rows["full"], rows["attention"]))
        check(len(rows["full"]) == len(rows["attention"]) > 0 and same == len(rows["full"]),
              f"GPT-2 small shapes: full recording's attention rows (later keys' scores computed when read) equal attention "
              f"recording's (computed in the pass) byte for byte: {same} of {len(rows['attention'])}")

    print(f"forward: {len(passes)} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
