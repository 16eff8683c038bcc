/* forward.c - the GPT-2 forward pass (openai/gpt-2 model.py), step by named step, recording each
 * intermediate tensor under its trace name. Math lives in ops.c; this file only sequences it. */
#include "forward.h"
#include "sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bigmem.h"
#include "ops.h"

static size_t kv_bytes(const Gpt2Config *c) { return (size_t)c->n_layer * (size_t)c->n_ctx * (size_t)c->n_embd * sizeof(float); }

void gpt2_state_init(Gpt2State *s, const Gpt2Model *m) {
    memset(s, 0, sizeof *s);
    s->m = m;
    /* fresh memory, zero and untouched: a page costs its fault only when a position first reaches it (a
     * memset of the whole context's cache was 0.2 s of a fresh GPT-2 small process); positions first
     * (gpt2_kv_row), so a short prompt touches a few MB rather than a huge page in every layer (48 MB of
     * fresh memory for GPT-2 small's first 64 positions, where it takes 5) */
    s->k_cache = big_alloc(kv_bytes(&m->cfg));
    s->v_cache = big_alloc(kv_bytes(&m->cfg));
}

static void free_scratch(Gpt2State *s) {
    big_free(s->scratch, s->scratch_bytes);
    s->scratch = NULL, s->scratch_bytes = 0;
}

void gpt2_state_free(Gpt2State *s) {
    free_scratch(s);
    big_free(s->logits, (size_t)s->cap_logits * (size_t)s->m->cfg.n_vocab * sizeof(float));
    free(s->mean);
    free(s->mean_tokens);
    if (s->m) big_free(s->k_cache, kv_bytes(&s->m->cfg)), big_free(s->v_cache, kv_bytes(&s->m->cfg));
    memset(s, 0, sizeof *s);
}

void gpt2_state_truncate(Gpt2State *s, int n) {
    if (n >= 0 && n < s->n_past) s->n_past = n;
}

/* The scratch buffers' layout for blocks of Tc tokens attending to K keys, each buffer at a 64-byte
 * boundary: with base NULL only its size in floats, else the buffers pointed into base. */
static size_t scratch_layout(Gpt2State *s, size_t Tc, size_t K, float *base) {
    const Gpt2Config *c = &s->m->cfg;
    size_t C = (size_t)c->n_embd, att = (size_t)c->n_head * Tc * K;
    struct {
        float **p;
        size_t n;
    } part[] = {{&s->x, Tc * C},    {&s->tok, Tc * C},        {&s->pos, Tc * C},   {&s->ln, Tc * C},
                {&s->qkv, Tc * 3 * C}, {&s->att, att},        {&s->scores, att},
                {&s->heads, Tc * C}, {&s->proj, Tc * C},      {&s->fc, Tc * (size_t)c->n_inner},
                {&s->gelu, Tc * (size_t)c->n_inner}};
    size_t at = 0;
    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++) {
        if (base) *part[i].p = base + at;
        at += (part[i].n + 15) / 16 * 16;
    }
    return at;
}

/* Makes the scratch block at least bytes big: the one there when it is, else a new one from bigmem.h,
 * faulted in on all threads (returns 1 when it made one). */
static int scratch_block(Gpt2State *s, size_t bytes) {
    if (bytes <= s->scratch_bytes) return 0;
    free_scratch(s);
    s->scratch_bytes = bytes;
    s->scratch = big_alloc_fill(bytes);
    return 1;
}

/* Grows the scratch buffers to hold a block of T tokens attending to K keys. */
static void ensure_scratch(Gpt2State *s, int T, int K) {
    if (T <= s->cap_T && K <= s->cap_K) return;
    const Gpt2Config *c = &s->m->cfg;
    s->cap_T = T > s->cap_T ? T : s->cap_T;
    /* keys grow by one a decoded token: grow the room geometrically, not on every token (freeing and
     * zeroing the attention scratch each time was 4-7% of a decode profile) */
    if (K > s->cap_K) {
        int grown = s->cap_K * 2 > c->n_ctx ? c->n_ctx : s->cap_K * 2;
        s->cap_K = K > grown ? K : grown;
    }
    /* laid out for exactly cap_T and cap_K (rows sized for a guess instead, the attention scratch's
     * longer rows made a 256-token prefill 10% slower), in the block there is when it holds them (made
     * ready ahead of a first run by gpt2_state_warm; what a pass reads of it, it has written first),
     * else in a new one from bigmem.h: in the page size this machine fills fastest (4 KB pages fill at
     * 0.4 GB/s on the project's machine: a fresh 64-token prefill's 4 MB of scratch in 4 KB pages was
     * 10 ms of its 55), faulted in on all threads now rather than by the kernels' first writes */
    scratch_block(s, scratch_layout(s, (size_t)s->cap_T, (size_t)s->cap_K, NULL) * sizeof(float));
    scratch_layout(s, (size_t)s->cap_T, (size_t)s->cap_K, s->scratch);
}

void gpt2_state_warm(Gpt2State *s, int T, const atomic_int *stop) {
    const Gpt2Config *c = &s->m->cfg;
    T = T < c->n_ctx ? T : c->n_ctx;
    if (T < 1 || s->n_past) return;
    size_t rows = (size_t)T * gpt2_kv_stride(s) * sizeof(float); /* positions first: a prompt's rows are the cache's start */
    if (stop) {
        big_prefault_until(s->k_cache, rows, stop);
        big_prefault_until(s->v_cache, rows, stop);
        return;
    }
    big_prefault(s->k_cache, rows);
    big_prefault(s->v_cache, rows);
}

void gpt2_state_ready_scratch(Gpt2State *s, int T) {
    const Gpt2Config *c = &s->m->cfg;
    T = T < c->n_ctx ? T : c->n_ctx;
    if (T < 1 || s->n_past) return;
    /* a block for T tokens attending to T keys, which ensure_scratch lays the pass's buffers out in */
    if (scratch_block(s, scratch_layout(s, (size_t)T, (size_t)T, NULL) * sizeof(float)))
        s->cap_T = s->cap_K = 0; /* laid out by the first pass */
}

/* The kernel set, chosen in one place: the plain reference kernels of ops.c (use_reference, for tests)
 * or the fast ones of ops_fast.c, which the tests hold to them. */
typedef struct {
    void (*matmul)(float *out, const float *x, WMat W, const float *bias, int T, int IC, int OC);
    void (*matmul_nt)(float *out, const float *x, WMat W, int T, int C, int V);
    void (*gelu)(float *out, const float *x, size_t n);
    void (*attention)(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                      size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past, int NH,
                      int HS, int all_scores);
} Kernels;

static void attention_reference(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                                size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past,
                                int NH, int HS, int all_scores) {
    (void)all_scores; /* the reference computes every score */
    attention_forward(out, scores, masked, weights, q, q_stride, keys, values, kv_stride, T, n_past, NH, HS);
}

/* The reference reads float32 only: a float16 matrix is made float32 whole for it (the same numbers as
 * the float16 kernels read: ops.h). */
static float *whole(WMat W, size_t rows, size_t cols) {
    if (W.f) return W.f;
    float *f = alloc_floats(rows * cols);
    wmat_rows(f, W, cols, 0, rows);
    return f;
}

static void matmul_reference(float *out, const float *x, WMat W, const float *bias, int T, int IC, int OC) {
    float *f = whole(W, (size_t)IC, (size_t)OC);
    matmul_forward(out, x, f, bias, T, IC, OC);
    if (f != W.f) free(f);
}

static void matmul_nt_reference(float *out, const float *x, WMat W, int T, int C, int V) {
    float *f = whole(W, (size_t)V, (size_t)C);
    matmul_nt_forward(out, x, f, T, C, V);
    if (f != W.f) free(f);
}

static void matmul_wmat(float *out, const float *x, WMat W, const float *bias, int T, int IC, int OC) {
    if (W.f) matmul_fast(out, x, W.f, bias, T, IC, OC);
    else matmul_fast_f16(out, x, W.h, bias, T, IC, OC);
}

static void matmul_nt_wmat(float *out, const float *x, WMat W, int T, int C, int V) {
    if (W.f) matmul_nt_fast(out, x, W.f, T, C, V);
    else matmul_nt_fast_f16(out, x, W.h, T, C, V);
}

static const Kernels REFERENCE_KERNELS = {matmul_reference, matmul_nt_reference, gelu_forward, attention_reference};
static const Kernels FAST_KERNELS = {matmul_wmat, matmul_nt_wmat, gelu_fast, attention_forward_fast};

static const Kernels *kernels(const Gpt2State *s) { return s->use_reference ? &REFERENCE_KERNELS : &FAST_KERNELS; }

/* Row loops on all threads for a prompt's rows, on this one for a few: OpenMP's `if` clause, false,
 * still enters its runtime (1.4 us a loop on the project's machine: 234 loops a decoded token with full
 * recording, 3% of its time), so a few rows take a plain loop instead. */
#define MANY_ROWS 16

static void record_row(Trace *tr, TracePos *p, int id, const float *src, size_t n) {
    float *dst = trace_slot(tr, p, id);
    if (dst) memcpy(dst, src, n * sizeof(float));
}

/* Copies rows of a (T, n) block into the trace, one row per position. */
static void record_rows(Trace *tr, TracePos *const *tp, int T, int id, const float *src, size_t n, size_t stride) {
    if (!tr) return;
    if (T < MANY_ROWS) {
        for (int t = 0; t < T; t++) record_row(tr, tp[t], id, src + (size_t)t * stride, n);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) record_row(tr, tp[t], id, src + (size_t)t * stride, n);
}

/* layernorm_forward and residual_forward (ops.c) row by row on all threads: the same numbers, a
 * prompt's rows no longer on one thread while the others wait. */
static void layernorm_rows(float *out, const float *x, const float *w, const float *b, int T, int C, float eps) {
    if (T < MANY_ROWS) {
        layernorm_forward(out, x, w, b, T, C, eps);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) layernorm_forward(out + (size_t)t * C, x + (size_t)t * C, w, b, 1, C, eps);
}

static void residual_rows(float *x, const float *add, int T, int C) {
    if (T < MANY_ROWS) {
        residual_forward(x, x, add, (size_t)T * C);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) residual_forward(x + (size_t)t * C, x + (size_t)t * C, add + (size_t)t * C, (size_t)C);
}

/* The output layer and softmax for n rows of ln_f (n, C): logits and probs (n, V). */
static void head_logits_probs(const void *ctx, const float *ln_f, int n, float *logits, float *probs) {
    const Gpt2State *s = ctx; /* reference mode computes them with the reference kernels, like the pass */
    const Gpt2Model *m = s->m;
    const int C = m->cfg.n_embd, V = m->cfg.n_vocab;
    kernels(s)->matmul_nt(logits, ln_f, gpt2_output_matrix(m), n, C, V);
    if (n == 1) softmax_forward(probs, logits, V);
    else {
#pragma omp parallel for schedule(static)
        for (int r = 0; r < n; r++) softmax_forward(probs + (size_t)r * V, logits + (size_t)r * V, V);
    }
}

/* One row of layer l's ln_1 (which 1) or ln_2 (2), as layernorm_rows makes each (trace.h's TraceLnFn). */
static void ln_row(const void *ctx, int l, int which, const float *in, float *out) {
    const Gpt2State *s = ctx;
    const Gpt2Layer *w = &s->m->w.h[l];
    layernorm_forward(out, in, which == 1 ? w->ln_1_w : w->ln_2_w, which == 1 ? w->ln_1_b : w->ln_2_b, 1, s->m->cfg.n_embd,
                      s->m->cfg.ln_eps);
}

/* Where a part's mean is kept in s->mean (interventions.h). */
static float *mean_of(const Gpt2State *s, AblationKind kind, int layer) {
    return s->mean + interventions_mean_offset(&s->m->cfg, kind, layer);
}

/* During gpt2_collect_means's clean pass: adds the T rows of x (T, width) to the part's sums. */
static void collect(const Gpt2State *s, AblationKind kind, int layer, const float *x, int T, int width) {
    if (!s->collect) return;
    float *sum = mean_of(s, kind, layer);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < width; i++) sum[i] += x[(size_t)t * width + i];
}

/* Switches off, in every row of x (T, width), each ablation of this kind and layer: a head's `span`
 * columns, one neuron's column, or (span == width) the whole row; zero, or the part's mean. */
static void ablate_columns(const Gpt2State *s, AblationKind kind, int layer, float *x, int T, int width, int span) {
    for (int i = 0; i < s->iv.n; i++) {
        const Ablation *a = &s->iv.a[i];
        if (a->kind != kind || (kind != ABL_POS && a->layer != layer)) continue;
        size_t at = span == width ? 0 : (size_t)a->index * span;
        const float *mean = s->iv.mode == ABLATE_MEAN ? mean_of(s, kind, layer) + at : NULL;
        for (int t = 0; t < T; t++) {
            float *row = x + (size_t)t * width + at;
            if (mean) memcpy(row, mean, sizeof(float) * (size_t)span);
            else memset(row, 0, sizeof(float) * (size_t)span);
        }
    }
}

/* What a trace needs to derive this layer's mlp.gelu rows from its mlp.fc rows (trace.h): the gelu
 * kernel, and each neuron ablate_columns switched off with the value it wrote. */
static void neurons_off(const Gpt2State *s, int layer, Trace *rec) {
    TraceNeuronOff off[TRACE_NEURONS_OFF_MAX];
    int n = 0;
    for (int i = 0; i < s->iv.n && n < TRACE_NEURONS_OFF_MAX; i++) {
        const Ablation *a = &s->iv.a[i];
        if (a->kind != ABL_NEURON || a->layer != layer) continue;
        off[n++] = (TraceNeuronOff){layer, a->index, s->iv.mode == ABLATE_MEAN ? mean_of(s, ABL_NEURON, layer)[a->index] : 0.0f};
    }
    trace_set_neurons_off(rec, layer, off, n);
    rec->gelu = kernels(s)->gelu;
}

/* The patch, when it is of this kind and layer and its position is among the T being run: x (T, width)
 * gets the value at its row, in columns [head * span, (head + 1) * span) (a head) or all of them. */
static void apply_patch(const Gpt2State *s, PatchKind kind, int layer, float *x, int T, int width, int span) {
    const Patch *p = &s->patch;
    if (p->kind != kind || p->layer != layer) return;
    for (int t = 0; t < T; t++) {
        int pos = s->n_past + t;
        if (p->pos >= 0 && pos != p->pos) continue;
        const float *v = p->value + (p->pos < 0 ? (size_t)pos * (kind == PATCH_HEAD ? span : width) : 0);
        float *row = x + (size_t)t * width;
        if (kind == PATCH_HEAD) memcpy(row + (size_t)p->head * span, v, sizeof(float) * (size_t)span);
        else memcpy(row, v, sizeof(float) * (size_t)width);
    }
}

/* Masked self-attention of this layer (ops.h: attention_forward): each (head, query) row of scores
 * and weights goes straight into the trace slot of its position when recording (slots[t] holds that
 * position's (NH, K) block), otherwise into the (NH, T, K) scratch. rec[0..1] are the trace slots for
 * scores and weights, per position, or NULL when not recorded. No masked rows are made: the trace
 * derives them from the scores when read (trace.h), and the weights are the same bits without them. */
static void attention(Gpt2State *s, int layer, int T, float *const *const rec[2], int all_scores) {
    const Gpt2Config *c = &s->m->cfg;
    const int C = c->n_embd, NH = c->n_head, HS = C / NH, K = s->n_past + T;
    const float *keys = gpt2_kv_row(s, 0, layer, 0), *vals = gpt2_kv_row(s, 1, layer, 0);
    float **rows = xmalloc(sizeof(float *) * 2 * (size_t)NH * T);
    float *scratch[2] = {s->scores, s->att};
    for (int k = 0; k < 2; k++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++)
                rows[(size_t)k * NH * T + h * T + t] = rec[k] ? rec[k][t] + (size_t)h * K : scratch[k] + ((size_t)h * T + t) * K;
    float **sc = rows, **wt = rows + (size_t)NH * T;
    kernels(s)->attention(s->heads, sc, NULL, wt, s->qkv, 3 * (size_t)C, keys, vals, gpt2_kv_stride(s), T, s->n_past, NH, HS,
                          all_scores);
    free(rows);
}

/* The scores of this layer's T positions, in the attention scratch (head h, row t at (h T + t) K), into
 * the trace: a prompt position's up to itself (TracePos.scores), the last one's whole rows. */
static void scores_to_trace(const Gpt2State *s, int l, int T, Trace *tr, TracePos *const *tp) {
    const int NH = s->m->cfg.n_head, K = s->n_past + T, id = trace_id(tr, TK_SCORES, l);
    for (int t = 0; t < T; t++) { /* S: position + 1 (the trace's positions are the cache's), or K */
        const int S = tp[t]->scores ? (int)(tp[t]->n_scores / ((size_t)s->m->cfg.n_layer * NH)) : K;
        float *dst = tp[t]->scores ? tp[t]->scores + (size_t)l * NH * S : trace_slot(tr, tp[t], id);
        for (int h = 0; dst && h < NH; h++)
            memcpy(dst + (size_t)h * S, s->scores + ((size_t)h * T + t) * K, sizeof(float) * (size_t)S);
    }
}

/* The trace slots of tensor id for the T positions of this call, or NULL when it is not recorded. */
static float **slots_of(Trace *rec, TracePos *const *tp, int T, int id, float **buf) {
    if (!rec) return NULL;
    for (int t = 0; t < T; t++)
        if (!(buf[t] = trace_slot(rec, tp[t], id))) return NULL;
    return buf;
}

/* One decoder block, layer l, for the T positions of this call: s->x (T, C) in and out. tp holds their
 * trace positions and rec the trace when recording (NULL otherwise); att_slots has room for 2T rows. */
/* ---- recording and intervention sites ---- */

/* Where the forward pass records a tensor, each of them in one place: what can be switched off there
 * (and the span of one part: a head's HS columns, a neuron's one, a whole sublayer's row), and what can
 * be patched in. In this order: the clean pass's sums for the means, the ablation, the patch, the
 * recording. */
typedef struct {
    int ablation;    /* AblationKind, or -1: nothing is switched off here */
    int span;        /* 0: one head's width (C / NH); -1: the whole row; else columns per part */
    PatchKind patch;
} SiteRule;

static SiteRule site_rule(TensorKind k) {
    switch (k) {
    case TK_HEADS: return (SiteRule){ABL_HEAD, 0, PATCH_HEAD};
    case TK_ATTN_PROJ: return (SiteRule){ABL_ATTN, -1, PATCH_NONE};
    case TK_GELU: return (SiteRule){ABL_NEURON, 1, PATCH_NONE};
    case TK_MLP_PROJ: return (SiteRule){ABL_MLP, -1, PATCH_MLP};
    case TK_RESID_OUT: return (SiteRule){-1, 0, PATCH_RESID};
    default: return (SiteRule){-1, 0, PATCH_NONE};
    }
}

/* One block's pass: the state, the layer, the T positions being run and where they are recorded. */
typedef struct {
    Gpt2State *s;
    int l, T;
    Trace *tr, *rec;
    TracePos *const *tp;
} Site;

/* The tensor `kind` of this layer, x (T, width) with rows `stride` apart: its interventions, then its
 * recording. */
static void site_strided(const Site *z, TensorKind kind, float *x, int width, int stride) {
    SiteRule r = site_rule(kind);
    const int C = z->s->m->cfg.n_embd, span = r.span == 0 ? C / z->s->m->cfg.n_head : r.span < 0 ? width : r.span;
    if (r.ablation >= 0) {
        collect(z->s, (AblationKind)r.ablation, z->l, x, z->T, width);
        ablate_columns(z->s, (AblationKind)r.ablation, z->l, x, z->T, width, span);
    }
    if (r.patch != PATCH_NONE) apply_patch(z->s, r.patch, z->l, x, z->T, width, span);
    if (kind == TK_GELU && z->rec) neurons_off(z->s, z->l, z->rec);
    record_rows(z->rec, z->tp, z->T, trace_id(z->tr, kind, z->l), x, (size_t)width, (size_t)stride);
}

static void site(const Site *z, TensorKind kind, float *x, int width) { site_strided(z, kind, x, width, width); }

float *gpt2_kv_row(const Gpt2State *s, int which, int layer, int pos) {
    const Gpt2Config *c = &s->m->cfg;
    return (which ? s->v_cache : s->k_cache) + ((size_t)pos * c->n_layer + layer) * c->n_embd;
}

size_t gpt2_kv_stride(const Gpt2State *s) { return (size_t)s->m->cfg.n_layer * s->m->cfg.n_embd; }

/* This block's keys and values of the T positions into the cache. */
static void cache_row(Gpt2State *s, int l, int t) {
    const int C = s->m->cfg.n_embd;
    memcpy(gpt2_kv_row(s, 0, l, s->n_past + t), s->qkv + (size_t)t * 3 * C + C, (size_t)C * sizeof(float));
    memcpy(gpt2_kv_row(s, 1, l, s->n_past + t), s->qkv + (size_t)t * 3 * C + 2 * C, (size_t)C * sizeof(float));
}

static void cache_rows(Gpt2State *s, int l, int T) {
    if (T < MANY_ROWS) {
        for (int t = 0; t < T; t++) cache_row(s, l, t);
        return;
    }
#pragma omp parallel for schedule(static)
    for (int t = 0; t < T; t++) cache_row(s, l, t);
}

/* One transformer block (The Illustrated GPT-2's "decoder block"), the math in order: masked
 * self-attention after a LayerNorm around a residual, then the feed-forward network after a LayerNorm
 * around a residual. Each line after a computation is where its result is recorded (and where a part
 * of it can be switched off or patched: site_rule). */
static void block(Gpt2State *s, int l, int T, Trace *tr, Trace *rec, TracePos *const *tp, float **att_slots) {
    const Gpt2Config *c = &s->m->cfg;
    const int C = c->n_embd, FF = c->n_inner;
    const Gpt2Layer *w = &s->m->w.h[l];
    const Kernels *k = kernels(s);
    const Site z = {s, l, T, tr, rec, tp};
    /* 2. ln_1, then q, k, v for every head in one matmul: (T, C) @ (C, 3C) */
    layernorm_rows(s->ln, s->x, w->ln_1_w, w->ln_1_b, T, C, c->ln_eps);      site(&z, TK_LN_1, s->ln, C);
    k->matmul(s->qkv, s->ln, w->attn_w, w->attn_b, T, C, 3 * C);             site_strided(&z, TK_Q, s->qkv, C, 3 * C);
                                                                             site_strided(&z, TK_K, s->qkv + C, C, 3 * C);
                                                                             site_strided(&z, TK_V, s->qkv + 2 * C, C, 3 * C);
    /* 3. this block's keys and values join the cache; each head attends over all K positions:
     *    softmax(q k^T / sqrt(HS), masked to the past) v  (the scores are written straight into the
     *    trace; the masked scores and the weights are derived from them when read, trace.h) */
    cache_rows(s, l, T);
    /* the raw scores of a prompt position's later keys are only for the trace: with full recording in
     * memory (q and k recorded) a prompt position keeps its scores up to itself and the trace computes
     * the rest when read (trace.h, TracePos.scores), so the pass scores into its scratch and copies
     * those; the plain kernels, attention recording and a trace in a file get every score now */
    int to_itself = 0;
    for (int t = 0; rec && t < T; t++) to_itself |= tp[t]->scores != NULL;
    float *const *const rows[2] = {to_itself ? NULL : slots_of(rec, tp, T, trace_id(tr, TK_SCORES, l), att_slots),
                                   slots_of(rec, tp, T, trace_id(tr, TK_WEIGHTS, l), att_slots + T)};
    attention(s, l, T, rows, rows[0] != NULL);
    if (to_itself) scores_to_trace(s, l, T, tr, tp);
                                                                             site(&z, TK_HEADS, s->heads, C);
    /* 4. the heads mixed by the output projection, and the first residual: x = x + c_proj(heads) */
    k->matmul(s->proj, s->heads, w->attn_proj_w, w->attn_proj_b, T, C, C);   site(&z, TK_ATTN_PROJ, s->proj, C);
    residual_rows(s->x, s->proj, T, C);                                      site(&z, TK_RESID_MID, s->x, C);
    /* 5. ln_2, the feed-forward network C -> 4C -> gelu -> C, and the second residual */
    layernorm_rows(s->ln, s->x, w->ln_2_w, w->ln_2_b, T, C, c->ln_eps);      site(&z, TK_LN_2, s->ln, C);
    k->matmul(s->fc, s->ln, w->fc_w, w->fc_b, T, C, FF);                     site(&z, TK_FC, s->fc, FF);
    k->gelu(s->gelu, s->fc, (size_t)T * FF);                                 site(&z, TK_GELU, s->gelu, FF);
    k->matmul(s->proj, s->gelu, w->fc_proj_w, w->fc_proj_b, T, FF, C);       site(&z, TK_MLP_PROJ, s->proj, C);
    residual_rows(s->x, s->proj, T, C);                                      site(&z, TK_RESID_OUT, s->x, C);
}

/* One position's logits and their softmax into the trace. */
static void record_head(Trace *tr, TracePos *p, int id_logits, int id_probs, const float *logits, int V) {
    float *lg = trace_slot(tr, p, id_logits), *pr = trace_slot(tr, p, id_probs);
    if (lg) memcpy(lg, logits, (size_t)V * sizeof(float));
    if (pr) softmax_forward(pr, logits, V);
}

/* 6. Final LayerNorm, then logits against the (tied) embedding matrix: (T, C) @ (V, C)^T, for the last
 * position, which picks the next token. A full trace computes the other positions' logits from their
 * ln_f when they are first read (head_logits_probs, trace.h's TRACE_DEFERRED). */
static void final_layer(Gpt2State *s, int T, Trace *tr, Trace *rec, TracePos *const *tp, float *logits_out) {
    const Gpt2Model *m = s->m;
    const Gpt2Config *c = &m->cfg;
    const int C = c->n_embd, V = c->n_vocab;
    layernorm_rows(s->ln, s->x, m->w.ln_f_w, m->w.ln_f_b, T, C, c->ln_eps);
    record_rows(rec, tp, T, trace_id(tr, TK_LN_F, 0), s->ln, (size_t)C, (size_t)C);
    int first = s->all_logits ? 0 : T - 1, rows = T - first;
    if (rows > s->cap_logits) { /* one row, or T with all_logits */
        big_free(s->logits, (size_t)s->cap_logits * V * sizeof(float));
        s->logits = big_alloc_fill((size_t)rows * V * sizeof(float));
        s->cap_logits = rows;
    }
    kernels(s)->matmul_nt(s->logits, s->ln + (size_t)first * C, gpt2_output_matrix(m), rows, C, V);
    if (tr) {
        tr->head = head_logits_probs;
        tr->ln = ln_row;
        tr->head_ctx = s;
    }
    if (rec) {
        int id_logits = trace_id(tr, TK_LOGITS, 0), id_probs = trace_id(tr, TK_PROBS, 0);
        if (rows == 1) record_head(tr, tp[first], id_logits, id_probs, s->logits, V);
        else {
#pragma omp parallel for schedule(static)
            for (int r = 0; r < rows; r++) record_head(tr, tp[first + r], id_logits, id_probs, s->logits + (size_t)r * V, V);
        }
    }
    if (logits_out) memcpy(logits_out, s->logits + (size_t)(rows - 1) * V, (size_t)V * sizeof(float));
}

int gpt2_forward(Gpt2State *s, const int *tokens, int T, Trace *tr, float *logits_out, Err *err) {
    const Gpt2Model *m = s->m;
    const Gpt2Config *c = &m->cfg;
    const int C = c->n_embd, V = c->n_vocab;
    if (T <= 0) return err_set(err, "forward: no tokens to run");
    if (s->n_past + T > c->n_ctx)
        return err_set(err, "context is full: %d tokens already plus %d new exceed the model's %d-position context",
                       s->n_past, T, c->n_ctx);
    for (int t = 0; t < T; t++)
        if (tokens[t] < 0 || tokens[t] >= V)
            return err_set(err, "token id %d is out of range: expected 0..%d", tokens[t], V - 1);
    const int K = s->n_past + T;
    ensure_scratch(s, T, K);
    const int want_rows = tr && tr->mode != TRACE_OFF;

    /* Positions in the trace (data slots are allocated for the tensors the mode records). */
    TracePos **tp = xcalloc((size_t)T, sizeof(TracePos *));
    float **att_slots = xcalloc(2 * (size_t)T, sizeof(float *)); /* where attention rows are recorded */
    if (tr) {
        int first_pos = tr->n_pos;
        tr->whole_rows = s->use_reference; /* the plain kernels compute every score in the pass */
        for (int t = 0; t < T; t++) trace_add_pos(tr, tokens[t], K, t == T - 1);
        for (int t = 0; t < T; t++) tp[t] = &tr->pos[first_pos + t]; /* after the last realloc */
    }
    Trace *rec = want_rows ? tr : NULL;

    /* 1. Embedding: token row of wte plus position row of wpe. */
    if (m->w.wte.f && m->w.wpe.f) embed_forward(s->x, s->tok, s->pos, m->w.wte.f, m->w.wpe.f, tokens, s->n_past, T, C);
    else { /* float16 embeddings: the T rows each needs, made float32, then the same function */
        float *te = alloc_floats((size_t)T * C), *pe = alloc_floats((size_t)T * C);
        int *row = xmalloc(sizeof(int) * (size_t)T);
        for (int t = 0; t < T; t++) {
            wmat_rows(te + (size_t)t * C, m->w.wte, (size_t)C, (size_t)tokens[t], 1);
            wmat_rows(pe + (size_t)t * C, m->w.wpe, (size_t)C, (size_t)(s->n_past + t), 1);
            row[t] = t;
        }
        embed_forward(s->x, s->tok, s->pos, te, pe, row, 0, T, C);
        free(te), free(pe), free(row);
    }
    collect(s, ABL_POS, 0, s->pos, T, C);
    if (interventions_has(&s->iv, ABL_POS, 0, 0)) { /* no position information: the token's embedding (plus the mean position) */
        ablate_columns(s, ABL_POS, 0, s->pos, T, C, C);
        residual_forward(s->x, s->tok, s->pos, (size_t)T * C);
    }
    record_rows(rec, tp, T, trace_id(tr, TK_TOK_EMB, 0), s->tok, (size_t)C, (size_t)C);
    record_rows(rec, tp, T, trace_id(tr, TK_POS_EMB, 0), s->pos, (size_t)C, (size_t)C);
    record_rows(rec, tp, T, trace_id(tr, TK_EMBED, 0), s->x, (size_t)C, (size_t)C);

    for (int l = 0; l < c->n_layer; l++) block(s, l, T, tr, rec, tp, att_slots);
    final_layer(s, T, tr, rec, tp, logits_out);
    s->n_past += T;
    free(tp);
    free(att_slots);
    return 0;
}

int gpt2_forward_rerun(Gpt2State *s, int first_layer, Trace *tr, float *logits_out, Err *err) {
    const Gpt2Config *c = &s->m->cfg;
    const int T = s->n_past, C = c->n_embd;
    if (!tr || tr->mode != TRACE_FULL || tr->n_pos != T || T <= 0 || first_layer < 0 || first_layer > c->n_layer)
        return err_set(err, "rerun: needs a full recording of the %d positions in the cache", T);
    for (int p = 0; p < T; p++)
        if (tr->pos[p].n_keys != T) return err_set(err, "rerun: position %d was not run in one pass with the others", p);
    const float *in0 = trace_get(tr, first_layer ? trace_id(tr, TK_RESID_OUT, first_layer - 1) : trace_id(tr, TK_EMBED, 0), 0);
    if (!in0) return err_set(err, "rerun: the residual stream before layer %d was not recorded", first_layer);
    ensure_scratch(s, T, T);
    TracePos **tp = xcalloc((size_t)T, sizeof(TracePos *));
    float **att_slots = xcalloc(2 * (size_t)T, sizeof(float *));
    const int id_in = first_layer ? trace_id(tr, TK_RESID_OUT, first_layer - 1) : trace_id(tr, TK_EMBED, 0);
    for (int p = 0; p < T; p++) {
        tp[p] = &tr->pos[p];
        memcpy(s->x + (size_t)p * C, trace_get(tr, id_in, p), sizeof(float) * (size_t)C);
        trace_forget_computed(tr, tp[p]); /* deferred logits and derived masked scores of the old run: again when read */
    }
    s->n_past = 0; /* the cache's positions 0..T-1 are rewritten from first_layer on */
    for (int l = first_layer; l < c->n_layer; l++) block(s, l, T, tr, tr, tp, att_slots);
    final_layer(s, T, tr, tr, tp, logits_out);
    s->n_past = T;
    free(tp);
    free(att_slots);
    return 0;
}

int gpt2_means_cover(const Gpt2State *s, const int *tokens, int T) {
    return s->mean && s->mean_n == T && !memcmp(s->mean_tokens, tokens, sizeof(int) * (size_t)T);
}

int gpt2_collect_means(Gpt2State *s, const int *tokens, int T, Err *err) {
    const Gpt2Config *c = &s->m->cfg;
    const size_t n = interventions_means_size(c);
    if (gpt2_means_cover(s, tokens, T)) return 0;
    free(s->mean);
    free(s->mean_tokens);
    s->mean = alloc_floats(n); /* zeroed: the sums start here */
    s->mean_tokens = xmalloc(sizeof(int) * (size_t)(T > 0 ? T : 1));
    s->mean_n = 0;
    Interventions keep = s->iv;
    Patch keep_patch = s->patch;
    s->iv.n = 0, s->patch.kind = PATCH_NONE, s->collect = 1, s->n_past = 0;
    int rc = gpt2_forward(s, tokens, T, NULL, NULL, err);
    s->iv = keep, s->patch = keep_patch, s->collect = 0, s->n_past = 0;
    if (rc) {
        free(s->mean), free(s->mean_tokens);
        s->mean = NULL, s->mean_tokens = NULL;
        return rc;
    }
    for (size_t i = 0; i < n; i++) s->mean[i] /= (float)T;
    memcpy(s->mean_tokens, tokens, sizeof(int) * (size_t)T);
    s->mean_n = T;
    return 0;
}

void gpt2_logit_lens_batch(const Gpt2Model *m, const float *resid, int n, int *ids, float *probs) {
    const Gpt2Config *c = &m->cfg;
    int C = c->n_embd, V = c->n_vocab;
    float *ln = alloc_floats((size_t)n * C), *work = alloc_floats((size_t)n * V);
    layernorm_forward(ln, resid, m->w.ln_f_w, m->w.ln_f_b, n, C, c->ln_eps);
    matmul_nt_wmat(work, ln, gpt2_output_matrix(m), n, C, V); /* the output matrix is read once for all n */
    for (int i = 0; i < n; i++) {
        float *row = work + (size_t)i * V;
        softmax_forward(row, row, V);
        ids[i] = argmax(row, V);
        probs[i] = row[ids[i]];
    }
    free(ln);
    free(work);
}
