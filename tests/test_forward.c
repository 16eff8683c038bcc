/* test_forward.c - KV-cached decoding equals running the whole sequence at once; the fast kernels give
 * the reference kernels' logits; a trace saves and loads back bit-exactly; .npy export; the context
 * limit and bad token ids fail cleanly; memory warmed ahead changes no bit.   test_forward MODEL_DIR TMPDIR */
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>

#include "bigmem.h"
#include "check.h"
#include "common.h"
#include "forward.h"
#include "model.h"
#include "ops.h"
#include "trace.h"

static float rel_diff(const float *a, const float *b, size_t n) {
    float err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        if (isinf(a[i]) || isinf(b[i])) {
            if (a[i] != b[i]) return INFINITY;
            continue;
        }
        err = fmaxf(err, fabsf(a[i] - b[i]));
        scale = fmaxf(scale, fabsf(b[i]));
    }
    return scale > 0 ? err / scale : err;
}

static const int TOKENS[] = {7454, 2402, 257, 640, 612, 373, 257, 1310, 2576, 508, 3332, 287};
#define NT 12

/* All at once vs a 5-token prompt followed by single tokens (the KV cache path). */
static void cache_equals_full(const Gpt2Model *m, Trace *full) {
    Gpt2State a, b;
    Err err;
    float *la = alloc_floats((size_t)m->cfg.n_vocab), *lb = alloc_floats((size_t)m->cfg.n_vocab);
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    Trace inc;
    trace_init(full, &m->cfg, m->name, TRACE_FULL);
    trace_init(&inc, &m->cfg, m->name, TRACE_FULL);
    trace_begin_step(full, 0, NT);
    CHECK(gpt2_forward(&a, TOKENS, NT, full, la, &err) == 0, "%s", err.msg);
    trace_begin_step(&inc, 0, 5);
    CHECK(gpt2_forward(&b, TOKENS, 5, &inc, NULL, &err) == 0, "%s", err.msg);
    for (int t = 5; t < NT; t++) {
        trace_begin_step(&inc, t, 1);
        CHECK(gpt2_forward(&b, TOKENS + t, 1, &inc, lb, &err) == 0, "%s", err.msg);
    }
    CHECK(rel_diff(lb, la, (size_t)m->cfg.n_vocab) < 1e-5f, "last logits: cached vs full");
    float worst = 0;
    for (int p = 0; p < NT; p++)
        for (int id = 0; id < full->n_ids; id++) {
            const float *x = trace_get(&inc, id, p), *y = trace_get(full, id, p);
            int layer;
            TensorKind k = trace_kind_of(full, id, &layer);
            if (k == TK_LOGITS || k == TK_PROBS) {
                CHECK(y != NULL, "full recording keeps logits at every position");
                if (!x) continue; /* incremental prompt keeps all too, but decode steps have them as well */
            }
            CHECK(x && y, "tensor %d at %d recorded", id, p);
            if (!x || !y) continue;
            int64_t sx[2], sy[2];
            int nd = trace_shape(&inc, id, p, sx);
            trace_shape(full, id, p, sy);
            if (k == TK_SCORES || k == TK_MASKED || k == TK_WEIGHTS) {
                /* compare the keys both have: 0..p (later ones are masked in both) */
                for (int h = 0; h < m->cfg.n_head; h++) {
                    float d = rel_diff(x + h * sx[1], y + h * sy[1], (size_t)p + 1);
                    worst = fmaxf(worst, d);
                }
            } else {
                worst = fmaxf(worst, rel_diff(x, y, (size_t)(sx[0] * (nd == 2 ? sx[1] : 1))));
            }
        }
    CHECK(worst < 1e-5f, "every tensor at every position: cached vs full, worst rel diff %g", worst);
    trace_free(&inc);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
    free(la);
    free(lb);
}

static void fast_equals_reference(const Gpt2Model *m) {
    Gpt2State a, b;
    Err err;
    float *la = alloc_floats((size_t)m->cfg.n_vocab), *lb = alloc_floats((size_t)m->cfg.n_vocab);
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    b.use_reference = 1;
    CHECK(gpt2_forward(&a, TOKENS, NT, NULL, la, &err) == 0, "fast kernels' pass: %s", err.msg);
    CHECK(gpt2_forward(&b, TOKENS, NT, NULL, lb, &err) == 0, "reference kernels' pass: %s", err.msg);
    float d = rel_diff(la, lb, (size_t)m->cfg.n_vocab);
    CHECK(d < 1e-5f, "fast kernels vs reference kernels: rel diff %g", d);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
    free(la);
    free(lb);
}

/* Full recording defers the prompt positions' logits and probs to their first read: they must be the
 * bits a pass computing every position's logits gives, and saving must compute the ones never read. */
static void deferred_equals_eager(const Gpt2Model *m, const char *tmp) {
    Gpt2State a, b;
    Err err;
    const int V = m->cfg.n_vocab;
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    a.all_logits = 1;
    Trace tr;
    trace_init(&tr, &m->cfg, m->name, TRACE_FULL);
    trace_begin_step(&tr, 0, NT);
    CHECK(gpt2_forward(&a, TOKENS, NT, NULL, NULL, &err) == 0, "%s", err.msg);
    CHECK(gpt2_forward(&b, TOKENS, NT, &tr, NULL, &err) == 0, "%s", err.msg);
    int id = trace_id(&tr, TK_LOGITS, 0), pid = trace_id(&tr, TK_PROBS, 0);
    CHECK(tr.pos[0].off[id] == TRACE_DEFERRED && tr.pos[NT - 1].off[id] >= 0 && !tr.pos[0].head,
          "prompt positions' logits are deferred, the last one's computed at once");
    /* saved before any read: the file gets them all, computed a block at a time, and the trace keeps none */
    char *path = path_join(tmp, "deferred.trace");
    Trace back;
    int saved = trace_save(&tr, path, &err) == 0, kept = 0, in_file = 1;
    CHECK(saved, "%s", err.msg);
    for (int p = 0; p < NT; p++) kept += tr.pos[p].head != NULL;
    if (saved && trace_load(&back, path, &err) == 0) {
        for (int p = 0; p < NT; p++) in_file &= back.pos[p].off[id] >= 0 &&
                                                memcmp(trace_get(&back, id, p), a.logits + (size_t)p * V, (size_t)V * 4) == 0;
        trace_free(&back);
    } else {
        in_file = 0;
    }
    CHECK(in_file && kept == 0, "saving writes every prompt position's logits, the pass's bits, without keeping them (%d kept)",
          kept);
    free(path);
    int same = 1;
    float *probs = alloc_floats((size_t)V);
    for (int p = NT - 1; p >= 0; p -= 2) { /* read some one at a time ... */
        const float *lg = trace_get(&tr, id, p), *pr = trace_get(&tr, pid, p);
        softmax_forward(probs, a.logits + (size_t)p * V, V);
        same &= lg && pr && memcmp(lg, a.logits + (size_t)p * V, (size_t)V * 4) == 0 &&
                memcmp(pr, probs, (size_t)V * 4) == 0;
    }
    trace_materialize(&tr); /* ... and the rest in one batch */
    for (int p = 0; p < NT; p++) {
        const float *lg = trace_get(&tr, id, p);
        same &= lg && memcmp(lg, a.logits + (size_t)p * V, (size_t)V * 4) == 0;
    }
    CHECK(same, "deferred logits and probs equal computing them in the pass, bit for bit");
    free(probs);
    trace_free(&tr);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
}

/* Position p's masked scores of one layer, read through the trace (derived from its scores on first
 * read): the scores up to the position, -inf after it, and what the pass's softmax read, so softmax
 * of them gives the recorded weights bit for bit. */
static int masked_ok(Trace *tr, int l, int p) {
    const int NH = tr->cfg.n_head, K = tr->pos[p].n_keys;
    const float *mk = trace_get(tr, trace_id(tr, TK_MASKED, l), p), *sc = trace_get(tr, trace_id(tr, TK_SCORES, l), p),
                *wt = trace_get(tr, trace_id(tr, TK_WEIGHTS, l), p);
    if (!mk || !sc || !wt) return 0;
    float *w = alloc_floats((size_t)K);
    int ok = 1;
    for (int h = 0; h < NH; h++) {
        for (int k = 0; k < K; k++) {
            float want = k <= p ? sc[h * K + k] : -INFINITY;
            ok &= memcmp(&mk[h * K + k], &want, 4) == 0;
        }
        softmax_forward(w, mk + (size_t)h * K, K);
        ok &= memcmp(w, wt + (size_t)h * K, (size_t)K * 4) == 0;
    }
    free(w);
    return ok;
}

/* Whether the last layer's weights read through the trace at the T positions of the pass's last call
 * (from t0) are the ones it attended with: its attention scratch still holds that layer's (forward.c's
 * attention: head h, row t at (h T + t) K). */
static int weights_of_pass(const Gpt2State *s, Trace *tr, int T, int t0) {
    const int NH = tr->cfg.n_head, l = tr->cfg.n_layer - 1, id = trace_id(tr, TK_WEIGHTS, l);
    int ok = 1;
    for (int t = 0; t < T; t++) {
        const int K = tr->pos[t0 + t].n_keys;
        const float *wt = trace_get(tr, id, t0 + t);
        for (int h = 0; h < NH && (ok &= wt != NULL); h++)
            ok &= memcmp(wt + (size_t)h * K, s->att + ((size_t)h * T + t) * K, sizeof(float) * (size_t)K) == 0;
    }
    return ok;
}

/* Recording keeps the scores alone; the masked scores and the weights are derived when read (trace.h's
 * TRACE_DERIVED), in both recording modes, the bits the pass computed, and a rerun that rewrites the
 * scores forgets the ones derived before. */
static void masked_derived(const Gpt2Model *m) {
    Err err;
    for (int mode = TRACE_ATTN; mode <= TRACE_FULL; mode++) {
        Gpt2State s;
        gpt2_state_init(&s, m);
        Trace tr;
        trace_init(&tr, &m->cfg, m->name, (TraceMode)mode);
        trace_begin_step(&tr, 0, NT);
        CHECK(gpt2_forward(&s, TOKENS, NT, &tr, NULL, &err) == 0, "%s", err.msg);
        int ok = tr.pos[0].off[trace_id(&tr, TK_MASKED, 0)] == TRACE_DERIVED && !tr.pos[0].derived &&
                 tr.pos[0].off[trace_id(&tr, TK_WEIGHTS, 0)] == TRACE_DERIVED; /* nothing derived before a read */
        int pass = weights_of_pass(&s, &tr, NT, 0);
        trace_begin_step(&tr, NT, 1);
        CHECK(gpt2_forward(&s, TOKENS, 1, &tr, NULL, &err) == 0, "%s", err.msg);
        pass &= weights_of_pass(&s, &tr, 1, NT);
        CHECK(pass, "%s recording: the weights derived on read are the ones the pass attended with, bit for bit (layer %d, "
              "the prompt's %d positions and a decoded one)", trace_mode_name((TraceMode)mode), m->cfg.n_layer - 1, NT);
        for (int l = 0; l < m->cfg.n_layer; l++)
            for (int p = 0; p <= NT; p++) ok &= masked_ok(&tr, l, p);
        CHECK(ok, "%s recording: masked scores and weights derived on read (%d layers x %d positions): the scores to the "
              "position, -inf after, softmax of them the weights bit for bit", trace_mode_name((TraceMode)mode),
              m->cfg.n_layer, NT + 1);
        const size_t C = (size_t)m->cfg.n_embd, FF = (size_t)m->cfg.n_inner, L = (size_t)m->cfg.n_layer,
                     att = (size_t)m->cfg.n_head * NT; /* the scores */
        size_t want = mode == TRACE_FULL ? 3 * C + L * (7 * C + FF + att) + C : L * att;
        CHECK(trace_position_floats(&tr, NT - 1, NT, 0) == want,
              "%s recording: a position with %d keys keeps %zu floats: the scores, not the masked scores or the weights%s",
              trace_mode_name((TraceMode)mode), NT, want, mode == TRACE_FULL ? ", nor ln_1, resid_mid, ln_2 or mlp.gelu" : "");
        want -= mode == TRACE_FULL ? L * att - L * (size_t)m->cfg.n_head * 4 : 0;
        CHECK(trace_position_floats(&tr, 3, NT, 0) == want, "%s recording: position 3 of a %d-token prompt keeps %zu floats%s",
              trace_mode_name((TraceMode)mode), NT, want, mode == TRACE_FULL ? ": its scores up to itself (4 a head)" : ", whole rows");
        if (mode == TRACE_FULL) {
            /* ln_1, resid_mid and ln_2 derived: the block's input through ln_1's weights, that input plus
             * attn.proj, resid_mid through ln_2's weights (layernorm_forward and residual_forward, as the
             * pass; test_forward.py holds them to the float64 reference) */
            float *want_row = alloc_floats(C), *mid = alloc_floats(C);
            int same = 1;
            for (int l = 0; l < m->cfg.n_layer; l++)
                for (int p = 0; p <= NT; p++) {
                    const Gpt2Layer *w = &m->w.h[l];
                    const float *in = trace_get(&tr, l ? trace_id(&tr, TK_RESID_OUT, l - 1) : trace_id(&tr, TK_EMBED, 0), p);
                    const float *ln1 = trace_get(&tr, trace_id(&tr, TK_LN_1, l), p), *rm = trace_get(&tr, trace_id(&tr, TK_RESID_MID, l), p),
                                *ln2 = trace_get(&tr, trace_id(&tr, TK_LN_2, l), p), *proj = trace_get(&tr, trace_id(&tr, TK_ATTN_PROJ, l), p);
                    same &= tr.pos[p].off[trace_id(&tr, TK_LN_1, l)] == TRACE_DERIVED && in && ln1 && rm && ln2 && proj;
                    if (!same) break;
                    layernorm_forward(want_row, in, w->ln_1_w, w->ln_1_b, 1, (int)C, m->cfg.ln_eps);
                    same &= memcmp(ln1, want_row, C * 4) == 0;
                    residual_forward(mid, in, proj, C);
                    same &= memcmp(rm, mid, C * 4) == 0;
                    layernorm_forward(want_row, mid, w->ln_2_w, w->ln_2_b, 1, (int)C, m->cfg.ln_eps);
                    same &= memcmp(ln2, want_row, C * 4) == 0;
                }
            CHECK(same, "full recording: ln_1, resid_mid and ln_2 derived on read (%d layers x %d positions), bit for bit",
                  m->cfg.n_layer, NT + 1);
            free(want_row);
            free(mid);
        }
        trace_free(&tr);
        gpt2_state_free(&s);
    }
    /* a head of layer 0 off; layer 1's masked scores read; the head back on and the pass rerun from
     * layer 0: they are read again from the new scores */
    if (m->cfg.n_layer < 2) return;
    Gpt2State s;
    gpt2_state_init(&s, m);
    Trace tr;
    trace_init(&tr, &m->cfg, m->name, TRACE_FULL);
    trace_begin_step(&tr, 0, NT);
    s.iv.mode = ABLATE_ZERO;
    s.iv.n = 1;
    s.iv.a[0] = (Ablation){ABL_HEAD, 0, 0};
    CHECK(gpt2_forward(&s, TOKENS, NT, &tr, NULL, &err) == 0, "%s", err.msg);
    const int id = trace_id(&tr, TK_MASKED, 1), K = tr.pos[NT - 1].n_keys;
    float *before = alloc_floats((size_t)m->cfg.n_head * K);
    const float *mk = trace_get(&tr, id, NT - 1);
    CHECK(mk != NULL, "masked scores read");
    if (mk) memcpy(before, mk, sizeof(float) * (size_t)m->cfg.n_head * K);
    s.iv.n = 0;
    CHECK(gpt2_forward_rerun(&s, 0, &tr, NULL, &err) == 0, "rerun: %s", err.msg);
    mk = trace_get(&tr, id, NT - 1);
    CHECK(mk && memcmp(mk, before, sizeof(float) * (size_t)m->cfg.n_head * K) != 0 && masked_ok(&tr, 1, NT - 1),
          "after a rerun the masked scores come from the new scores, not the ones read before");
    free(before);
    trace_free(&tr);
    gpt2_state_free(&s);
}

/* Whether layer l's mlp.gelu read through the trace at the T positions of the pass's last call (from t0)
 * is what the pass fed its MLP's output projection: its gelu scratch still holds the last layer's,
 * neurons switched off included. */
static int gelu_of_pass(const Gpt2State *s, Trace *tr, int T, int t0) {
    const int FF = tr->cfg.n_inner, id = trace_id(tr, TK_GELU, tr->cfg.n_layer - 1);
    int ok = 1;
    for (int t = 0; t < T && ok; t++) {
        const float *g = trace_get(tr, id, t0 + t);
        ok &= g && tr->pos[t0 + t].off[id] == TRACE_DERIVED && memcmp(g, s->gelu + (size_t)t * FF, sizeof(float) * (size_t)FF) == 0;
    }
    return ok;
}

/* Every row of layer l's mlp.gelu read through tr equals want (NT rows of FF), bit for bit. */
static int gelu_rows(Trace *tr, int l, const float *want) {
    const int FF = tr->cfg.n_inner;
    int ok = 1;
    for (int p = 0; p < NT && ok; p++) {
        const float *g = trace_get(tr, trace_id(tr, TK_GELU, l), p);
        ok &= g && memcmp(g, want + (size_t)p * FF, sizeof(float) * (size_t)FF) == 0;
    }
    return ok;
}

/* In full recording h.L.mlp.gelu is derived on read from h.L.mlp.fc with the pass's gelu kernel (fast or
 * plain) and the neurons the pass switched off, zero or mean: the bits the pass fed its output
 * projection. A copy of the trace keeps its neurons when the state's change and the trace is rerun. */
static void gelu_derived(const Gpt2Model *m) {
    Err err;
    const int L = m->cfg.n_layer, FF = m->cfg.n_inner, last = L - 1;
    float *kept = alloc_floats((size_t)(NT + 1) * FF), *row = alloc_floats((size_t)FF);
    for (int k = 0; k < 4; k++) { /* fast, plain kernels; then neurons off, zero and mean */
        const int ablate = k >= 2;
        Gpt2State s;
        gpt2_state_init(&s, m);
        s.use_reference = k == 1;
        if (ablate) {
            s.iv.mode = k == 3 ? ABLATE_MEAN : ABLATE_ZERO;
            if (k == 3) CHECK(gpt2_collect_means(&s, TOKENS, NT, &err) == 0, "%s", err.msg);
            s.iv.n = 3;
            s.iv.a[0] = (Ablation){ABL_NEURON, last, 0};
            s.iv.a[1] = (Ablation){ABL_NEURON, last, FF - 1};
            s.iv.a[2] = (Ablation){ABL_NEURON, 0, 5 % FF};
        }
        Trace tr;
        trace_init(&tr, &m->cfg, m->name, TRACE_FULL);
        trace_begin_step(&tr, 0, NT);
        CHECK(gpt2_forward(&s, TOKENS, NT, &tr, NULL, &err) == 0, "%s", err.msg);
        int pass = gelu_of_pass(&s, &tr, NT, 0);
        trace_begin_step(&tr, NT, 1);
        CHECK(gpt2_forward(&s, TOKENS, 1, &tr, NULL, &err) == 0, "%s", err.msg);
        pass &= gelu_of_pass(&s, &tr, 1, NT);
        const char *what[4] = {"fast kernels", "plain kernels", "3 neurons off (zero)", "3 neurons off (mean)"};
        CHECK(pass, "%s: layer %d's mlp.gelu derived on read is what the pass fed its output projection, bit for bit (the "
              "prompt's %d positions and a decoded one)", what[k], last, NT);
        /* every layer: the kernel on the recorded fc row, then the neurons off */
        int same = 1;
        for (int l = 0; l < L; l++)
            for (int p = 0; p <= NT && same; p++) {
                const float *fc = trace_get(&tr, trace_id(&tr, TK_FC, l), p), *g = trace_get(&tr, trace_id(&tr, TK_GELU, l), p);
                if (!fc || !g) { same = 0; break; }
                if (k == 1) gelu_forward(row, fc, (size_t)FF);
                else gelu_fast(row, fc, (size_t)FF);
                for (int i = 0; i < s.iv.n; i++)
                    if (s.iv.a[i].layer == l)
                        row[s.iv.a[i].index] = k == 3 ? s.mean[interventions_mean_offset(&m->cfg, ABL_NEURON, l) + s.iv.a[i].index] : 0.0f;
                same &= memcmp(g, row, sizeof(float) * (size_t)FF) == 0;
            }
        CHECK(same, "%s: mlp.gelu derived at every layer (%d) and position (%d): the kernel's gelu of mlp.fc, the neurons off "
              "set to %s", what[k], L, NT + 1, k == 3 ? "their means" : "0");
        if (ablate) { /* a copy keeps the ablated run's neurons when the state's are switched back on and rerun
                       * (the viewer's toggle: its positions run in one pass) */
            trace_free(&tr);
            gpt2_state_truncate(&s, 0);
            trace_init(&tr, &m->cfg, m->name, TRACE_FULL);
            trace_begin_step(&tr, 0, NT);
            CHECK(gpt2_forward(&s, TOKENS, NT, &tr, NULL, &err) == 0, "%s", err.msg);
            Trace copy;
            CHECK(trace_copy(&copy, &tr, &err) == 0, "%s", err.msg);
            for (int p = 0; p < NT; p++)
                memcpy(kept + (size_t)p * FF, trace_get(&tr, trace_id(&tr, TK_GELU, last), p), sizeof(float) * (size_t)FF);
            s.iv.n = 0;
            CHECK(gpt2_forward_rerun(&s, 0, &tr, NULL, &err) == 0, "rerun: %s", err.msg);
            int clean = gelu_of_pass(&s, &tr, NT, 0), differ = 0;
            for (int p = 0; p < NT; p++)
                differ |= memcmp(trace_get(&tr, trace_id(&tr, TK_GELU, last), p), kept + (size_t)p * FF, sizeof(float) * (size_t)FF) != 0;
            CHECK(clean && differ && gelu_rows(&copy, last, kept) && copy.n_neuron_off == 3 && tr.n_neuron_off == 0,
                  "%s, then switched back on and rerun: the trace's mlp.gelu is the clean pass's, a copy made before keeps "
                  "the ablated run's", what[k]);
            trace_free(&copy);
        }
        trace_free(&tr);
        gpt2_state_free(&s);
    }
    free(kept);
    free(row);
}

/* With full recording in memory a prompt position keeps its raw scores up to itself alone (trace.h:
 * TracePos.scores), its later keys' computed when read: its rows read whole are the bits attention
 * recording computes in the pass, in the trace and in a copy of it, and after a rerun from the new keys;
 * the last position keeps whole rows; a trace in a file and the plain kernels compute every score in
 * the pass. */
static void future_scores(const Gpt2Model *m) {
    Err err;
    Gpt2State a, b;
    Trace att, full;
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    trace_init(&att, &m->cfg, m->name, TRACE_ATTN);
    trace_init(&full, &m->cfg, m->name, TRACE_FULL);
    trace_begin_step(&att, 0, NT);
    trace_begin_step(&full, 0, NT);
    CHECK(gpt2_forward(&a, TOKENS, NT, &att, NULL, &err) == 0, "%s", err.msg);
    CHECK(gpt2_forward(&b, TOKENS, NT, &full, NULL, &err) == 0, "%s", err.msg);
    const int L = m->cfg.n_layer, NH = m->cfg.n_head, last = L - 1;
    int kept = 1;
    for (int p = 0; p < NT; p++) {
        const int id = trace_id(&full, TK_SCORES, 0);
        kept &= p < NT - 1 ? full.pos[p].scores && full.pos[p].n_scores == (size_t)L * NH * (p + 1) && full.pos[p].off[id] == TRACE_DERIVED
                           : !full.pos[p].scores && full.pos[p].off[id] >= 0;
    }
    CHECK(kept, "every prompt position but the last keeps its %d layers' scores up to itself alone; the last whole rows", L);
    const int id = trace_id(&full, TK_SCORES, last);
    int same = 1;
    for (int p = 0; p < NT; p++) {
        const float *f = trace_get(&full, id, p), *w = trace_get(&att, id, p);
        same &= f && w && memcmp(f, w, sizeof(float) * (size_t)NH * NT) == 0;
    }
    CHECK(same, "layer %d's scores read whole at every position: the ones attention recording computes in the pass, bit for bit",
          last);
    Trace copy;
    CHECK(trace_copy(&copy, &full, &err) == 0, "%s", err.msg);
    same = 1;
    for (int p = 0; p < NT; p++)
        for (int l = 0; l < L; l++) {
            const int i = trace_id(&full, TK_SCORES, l);
            const float *w = trace_get(&att, i, p), *f = trace_get(&full, i, p), *c = trace_get(&copy, i, p);
            same &= w && f && c && memcmp(f, w, sizeof(float) * (size_t)NH * NT) == 0 && memcmp(c, w, sizeof(float) * (size_t)NH * NT) == 0;
        }
    CHECK(same, "every layer's scores, in the trace and in a copy of it: attention recording's, bit for bit");
    trace_free(&copy);
    /* a head of layer 0 off and the pass rerun from layer 0: layer 1's later keys are new, and so are the
     * scores read from them (attention recording with the head off computes them in the pass) */
    if (L >= 2) {
        const float *before = trace_get(&full, trace_id(&full, TK_SCORES, 1), 0);
        float *kept_row = alloc_floats((size_t)NH * NT);
        if (before) memcpy(kept_row, before, sizeof(float) * (size_t)NH * NT);
        b.iv.mode = ABLATE_ZERO, b.iv.n = 1, b.iv.a[0] = (Ablation){ABL_HEAD, 0, 0};
        CHECK(gpt2_forward_rerun(&b, 0, &full, NULL, &err) == 0, "rerun: %s", err.msg);
        gpt2_state_truncate(&a, 0);
        a.iv = b.iv;
        trace_free(&att);
        trace_init(&att, &m->cfg, m->name, TRACE_ATTN);
        trace_begin_step(&att, 0, NT);
        CHECK(gpt2_forward(&a, TOKENS, NT, &att, NULL, &err) == 0, "%s", err.msg);
        const int i = trace_id(&full, TK_SCORES, 1);
        const float *f = trace_get(&full, i, 0), *w = trace_get(&att, i, 0);
        CHECK(f && w && memcmp(f, w, sizeof(float) * (size_t)NH * NT) == 0 && memcmp(f, kept_row, sizeof(float) * (size_t)NH * NT) != 0,
              "rerun with a head of layer 0 off: layer 1's scores of position 0 read whole come from the new keys (attention "
              "recording's with the head off), not the ones read before");
        free(kept_row);
        b.iv.n = 0, a.iv.n = 0;
    }
    trace_free(&full);
    /* in a file, or with the plain kernels: computed in the pass */
    for (int k = 0; k < 2; k++) {
        gpt2_state_truncate(&b, 0);
        b.use_reference = k;
        trace_init(&full, &m->cfg, m->name, TRACE_FULL);
        if (k == 0) CHECK(trace_spill(&full, &err) == 0, "%s", err.msg);
        trace_begin_step(&full, 0, NT);
        CHECK(gpt2_forward(&b, TOKENS, NT, &full, NULL, &err) == 0, "%s", err.msg);
        int whole = 1;
        for (int p = 0; p < NT; p++) whole &= !full.pos[p].scores && full.pos[p].off[trace_id(&full, TK_SCORES, last)] >= 0;
        CHECK(whole, "%s: every score computed in the pass, whole rows kept", k ? "the plain kernels" : "a trace in a file");
        trace_free(&full);
    }
    trace_free(&att);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
}

static int files_equal(const char *a, const char *b) {
    char *x, *y;
    size_t nx, ny;
    Err err;
    if (read_file(a, &x, &nx, &err) || read_file(b, &y, &ny, &err)) return 0;
    int eq = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return eq;
}

static void save_load(Trace *tr, const char *tmp) {
    char *p1 = path_join(tmp, "t1.trace"), *p2 = path_join(tmp, "t2.trace"), *npy = path_join(tmp, "w.npy");
    Err err;
    tr->steps[0].chosen = 11;
    tr->steps[0].chosen_prob = 0.25f;
    tr->steps[0].sampler = (SamplerSettings){0, 0.8f, 40, 0.9f, 12345};
    CHECK(trace_save(tr, p1, &err) == 0, "%s", err.msg);
    Trace back;
    int loaded = trace_load(&back, p1, &err) == 0;
    CHECK(loaded, "%s", err.msg);
    if (!loaded) return;
    CHECK(back.n_pos == tr->n_pos && back.n_steps == tr->n_steps && back.mode == tr->mode &&
              strcmp(back.model, tr->model) == 0 && back.steps[0].sampler.seed == 12345 &&
              back.steps[0].sampler.top_p == 0.9f, "header fields survive");
    int same = 1, all_there = 1;
    for (int p = 0; p < tr->n_pos; p++) {
        same &= back.pos[p].token == tr->pos[p].token && back.pos[p].n_keys == tr->pos[p].n_keys;
        for (int id = 0; id < tr->n_ids; id++) {
            const float *a = trace_get(tr, id, p), *b = trace_get(&back, id, p);
            int64_t sh[2];
            int nd = trace_shape(tr, id, p, sh);
            all_there &= a && b;
            if (a && b) same &= memcmp(a, b, (size_t)(sh[0] * (nd == 2 ? sh[1] : 1)) * 4) == 0;
        }
    }
    CHECK(all_there, "a full trace file holds every tensor at every position (deferred logits included)");
    CHECK(same, "every tensor loads back bit-exactly");
    CHECK(trace_save(&back, p2, &err) == 0 && files_equal(p1, p2), "saving the loaded trace gives the same bytes");
    trace_free(&back);
    /* .npy: header, then the raw float32 data */
    int id = trace_id_by_name(tr, "h.0.attn.weights");
    int64_t sh[2];
    int nd = trace_shape(tr, id, 3, sh);
    CHECK(id >= 0 && npy_save(npy, trace_get(tr, id, 3), nd, sh, &err) == 0, "npy export");
    char *d;
    size_t n;
    if (read_file(npy, &d, &n, &err) == 0) {
        CHECK(memcmp(d, "\x93NUMPY\x01\x00", 8) == 0 && n == 128 + (size_t)(sh[0] * sh[1]) * 4 &&
                  memcmp(d + 128, trace_get(tr, id, 3), (size_t)(sh[0] * sh[1]) * 4) == 0 &&
                  strstr(d + 10, "'shape': (") != NULL,
              "npy layout (%zu bytes)", n);
        free(d);
    }
    CHECK(trace_id_by_name(tr, "h.99.ln_1") < 0 && trace_id_by_name(tr, "nonsense") < 0 &&
              trace_id_by_name(tr, "logits") >= 0 && trace_id_by_name(tr, "h.1.mlp.gelu") >= 0,
          "names resolve");
    /* corrupt traces are refused, not crashed on */
    FILE *f = fopen(p2, "r+b");
    fseek(f, 0, SEEK_SET);
    fputs("NOTATRACE", f);
    fclose(f);
    CHECK(trace_load(&back, p2, &err) != 0 && strstr(err.msg, "not a gptstep trace"), "bad magic: %s", err.msg);
    trace_free(&back);
    char *data;
    size_t len;
    read_file(p1, &data, &len, &err);
    f = fopen(p2, "wb");
    fwrite(data, 1, len / 2, f);
    fclose(f);
    free(data);
    CHECK(trace_load(&back, p2, &err) != 0 && strstr(err.msg, "truncated"), "truncated trace: %s", err.msg);
    free(p1);
    free(p2);
    free(npy);
}

static void limits(const Gpt2Model *m) {
    Gpt2State s;
    Err err;
    gpt2_state_init(&s, m);
    int *many = calloc((size_t)m->cfg.n_ctx + 1, sizeof(int));
    CHECK(gpt2_forward(&s, many, m->cfg.n_ctx + 1, NULL, NULL, &err) != 0 && strstr(err.msg, "context"),
          "past the context: %s", err.msg);
    int bad = m->cfg.n_vocab;
    CHECK(gpt2_forward(&s, &bad, 1, NULL, NULL, &err) != 0 && strstr(err.msg, "out of range"), "bad id: %s", err.msg);
    CHECK(gpt2_forward(&s, many, m->cfg.n_ctx, NULL, NULL, &err) == 0, "a full context runs");
    CHECK(gpt2_forward(&s, many, 1, NULL, NULL, &err) != 0 && strstr(err.msg, "context is full"), "%s", err.msg);
    free(many);
    gpt2_state_free(&s);
}

/* Interventions: none switched off is today's forward pass bit for bit, whatever the mode and even
 * after the mean-ablation pass ran; a rerun from a layer equals the full pass. */
static void interventions(const Gpt2Model *m) {
    Gpt2State a, b;
    Err err;
    const int V = m->cfg.n_vocab;
    float *la = alloc_floats((size_t)V), *lb = alloc_floats((size_t)V);
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    CHECK(gpt2_forward(&a, TOKENS, NT, NULL, la, &err) == 0, "%s", err.msg);
    b.iv.mode = ABLATE_MEAN; /* a mode, nothing off */
    CHECK(gpt2_collect_means(&b, TOKENS, NT, &err) == 0 && b.n_past == 0, "the means' pass leaves the state empty");
    CHECK(gpt2_forward(&b, TOKENS, NT, NULL, lb, &err) == 0, "%s", err.msg);
    CHECK(memcmp(la, lb, sizeof(float) * (size_t)V) == 0, "nothing switched off gives the clean logits bit for bit");
    /* a head off, then the pass rerun from its layer after switching it back on: the clean pass again */
    Trace t;
    trace_init(&t, &m->cfg, m->name, TRACE_FULL);
    gpt2_state_truncate(&b, 0);
    b.iv.mode = ABLATE_ZERO;
    b.iv.n = 1;
    b.iv.a[0] = (Ablation){ABL_HEAD, m->cfg.n_layer - 1, 0};
    CHECK(gpt2_forward(&b, TOKENS, NT, &t, lb, &err) == 0, "%s", err.msg);
    CHECK(memcmp(la, lb, sizeof(float) * (size_t)V) != 0, "a head switched off changes the logits");
    b.iv.n = 0;
    CHECK(gpt2_forward_rerun(&b, m->cfg.n_layer - 1, &t, lb, &err) == 0, "rerun: %s", err.msg);
    CHECK(memcmp(la, lb, sizeof(float) * (size_t)V) == 0, "switched back on and rerun from its layer: the clean logits bit for bit");
    trace_free(&t);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
    free(la);
    free(lb);
}

/* Runs 7 prompt tokens, then the other NT - 7 one at a time (the keys' room growing), into st and tr. */
static void prompt_then_decode(Gpt2State *st, Trace *tr, float *logits) {
    Err err;
    trace_begin_step(tr, 0, 7);
    CHECK(gpt2_forward(st, TOKENS, 7, tr, logits, &err) == 0, "%s", err.msg);
    for (int t = 7; t < NT; t++) {
        trace_begin_step(tr, t, 1);
        CHECK(gpt2_forward(st, TOKENS + t, 1, tr, logits, &err) == 0, "%s", err.msg);
    }
}

/* Every tensor of every position of two traces and the last logits, bit for bit. */
static int same_bits(const Trace *ta, const Trace *tb, const float *la, const float *lb, int V) {
    int same = memcmp(la, lb, sizeof(float) * (size_t)V) == 0 && ta->n_pos == tb->n_pos;
    for (int p = 0; p < ta->n_pos && same; p++)
        for (int id = 0; id < ta->n_ids; id++) {
            int64_t sh[2];
            int nd = trace_shape(ta, id, p, sh);
            const float *x = trace_get(ta, id, p), *y = trace_get(tb, id, p);
            same &= (x != NULL) == (y != NULL);
            if (x && y) same &= memcmp(x, y, sizeof(float) * (size_t)(nd == 2 ? sh[0] * sh[1] : sh[0])) == 0;
        }
    return same;
}

/* A fresh process's first run has its memory made ready ahead (generate.c): the key/value rows
 * (gpt2_state_warm) and the trace's first chunks (trace_warm), by a helper thread until told to stop,
 * then on all threads with a scratch block the passes lay their buffers out in. The passes must then
 * give the same bits, every tensor of every position, as passes into memory nobody touched; and a stop
 * stops the helper. The scratch block is filled with NaNs first: a pass that read any of it before
 * writing it would show. */
static void warmed_equals_cold(const Gpt2Model *m) {
    atomic_int go = 0, halt = 1;
    size_t bytes = (size_t)3 << 20;
    unsigned char *blk = big_alloc(bytes);
    CHECK(big_prefault_until(blk, bytes, &halt) == 0, "a prefault told to stop touches nothing");
    CHECK(big_prefault_until(blk, bytes, &go) == bytes, "a prefault not told to stop touches every page");
    int zero = 1;
    for (size_t i = 0; i < bytes; i++) zero &= blk[i] == 0;
    CHECK(zero, "a prefaulted block still reads all zero");
    big_free(blk, bytes);

    Gpt2State a, b, c;
    Trace ta, tb, tc;
    const int V = m->cfg.n_vocab;
    float *la = alloc_floats((size_t)V), *lb = alloc_floats((size_t)V), *lc = alloc_floats((size_t)V);
    gpt2_state_init(&a, m);
    gpt2_state_init(&b, m);
    gpt2_state_init(&c, m);
    trace_init(&ta, &m->cfg, m->name, TRACE_FULL);
    trace_init(&tb, &m->cfg, m->name, TRACE_FULL);
    trace_init(&tc, &m->cfg, m->name, TRACE_FULL);
    gpt2_state_warm(&a, NT + 4, &go); /* a helper's way */
    trace_warm(&ta, NT + 4, (size_t)-1, &go);
    gpt2_state_warm(&c, NT + 4, NULL); /* all threads' */
    gpt2_state_ready_scratch(&c, NT); /* room for the prompt (7, 7) and the keys grown to (7, 14) */
    trace_warm(&tc, NT + 4, (size_t)-1, NULL);
    CHECK(c.scratch && c.scratch_bytes > 0 && !c.cap_T, "warming on all threads makes a scratch block, not yet laid out");
    float *block = c.scratch;
    memset(c.scratch, 0xff, c.scratch_bytes); /* NaN */
    prompt_then_decode(&a, &ta, la);
    prompt_then_decode(&b, &tb, lb);
    prompt_then_decode(&c, &tc, lc);
    CHECK(same_bits(&ta, &tb, la, lb, V), "a prompt and decoded tokens into memory a helper warmed give every tensor of "
          "every position bit for bit");
    CHECK(same_bits(&tc, &tb, lc, lb, V), "... and into memory warmed on all threads, its scratch block NaN to start");
    CHECK(c.scratch == block && c.cap_K > 7, "the passes laid their buffers out in that block, the keys' room grown in it");
    trace_free(&ta);
    trace_free(&tb);
    trace_free(&tc);
    gpt2_state_free(&a);
    gpt2_state_free(&b);
    gpt2_state_free(&c);
    free(la);
    free(lb);
    free(lc);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: test_forward MODEL_DIR TMPDIR\n");
        return 2;
    }
    Gpt2Model m;
    Err err;
    CHECK(gpt2_load(&m, argv[1], &err) == 0, "%s", err.msg);
    if (!m.w.wte.f && !m.w.wte.h) return check_report("forward (C)");
    mkdir(argv[2], 0755);
    Trace full;
    cache_equals_full(&m, &full);
    fast_equals_reference(&m);
    deferred_equals_eager(&m, argv[2]);
    masked_derived(&m);
    gelu_derived(&m);
    future_scores(&m);
    warmed_equals_cold(&m);
    interventions(&m);
    save_load(&full, argv[2]);
    limits(&m);
    trace_free(&full);
    gpt2_free(&m);
    return check_report("forward (C)");
}
