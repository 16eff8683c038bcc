/* trace.c - storage, names, shapes, file format and .npy export of the recorded tensors. */
#define _DEFAULT_SOURCE
#include "trace.h"

#include "bigmem.h"
#include "ops.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *KIND_NAMES[TK_COUNT] = {
    "tok_emb",     "pos_emb",    "embed",       "ln_1",      "attn.q",     "attn.k",    "attn.v",
    "attn.scores", "attn.masked", "attn.weights", "attn.heads", "attn.proj", "resid_mid", "ln_2",
    "mlp.fc",      "mlp.gelu",   "mlp.proj",    "resid_out", "ln_f",       "logits",    "probs",
};

const char *trace_kind_name(TensorKind kind) { return kind < TK_COUNT ? KIND_NAMES[kind] : "?"; }

const char *trace_mode_name(TraceMode m) { return m == TRACE_FULL ? "full" : m == TRACE_ATTN ? "attention" : "off"; }

void trace_init(Trace *tr, const Gpt2Config *cfg, const char *model_name, TraceMode mode) {
    memset(tr, 0, sizeof *tr);
    tr->cfg = *cfg;
    snprintf(tr->model, sizeof tr->model, "%s", model_name ? model_name : "");
    tr->mode = mode;
    tr->n_ids = 3 + cfg->n_layer * TK_PER_LAYER + 3;
}

int trace_spill(Trace *tr, Err *err) {
    if (tr->spilled) return 0;
    const char *dirs[3] = {getenv("TMPDIR"), "/var/tmp", "/tmp"};
    for (int i = 0; i < 3; i++) {
        if (!dirs[i] || !dirs[i][0]) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/gptstep-trace-XXXXXX", dirs[i]);
        int fd = mkstemp(path);
        if (fd < 0) continue;
        unlink(path); /* gone when the trace is freed or the program ends */
        tr->spill_fd = fd;
        tr->spilled = 1;
        tr->spill_size = 0;
        return 0;
    }
    return err_set(err, "cannot make a file for the trace in $TMPDIR, /var/tmp or /tmp: %s", strerror(errno));
}

/* Whether data lies in a chunk of the spill file (positions recorded before the spill are in memory). */
static int in_file_chunk(const Trace *tr, const float *data) {
    for (const TraceChunk *c = tr->chunk; c; c = c->prev)
        if (data >= c->base && data < c->base + c->cap) return c->file_off >= 0;
    return 0;
}

void trace_release(Trace *tr) {
    for (TraceChunk *c = tr->chunk; c; c = c->prev)
        if (c->file_off >= 0) madvise(c->base, c->cap * sizeof(float), MADV_DONTNEED);
}

#define CHUNK_FLOATS ((size_t)8 << 20) /* 32 MB */
#define SPARE_CHUNKS 16                 /* released chunks kept for reuse: 512 MB at most */

/* Chunks released by traces are kept (up to SPARE_CHUNKS) and handed to the next trace that grows:
 * memory that is already mapped costs nothing to write into, while fresh memory makes the kernel
 * fault in and zero every page first, which is a fifth of a full-recording prefill. So running a new
 * prompt, or stepping back and forward, reuses the memory of the trace it replaces. */
static struct {
    pthread_mutex_t lock;
    float *base[SPARE_CHUNKS];
    int n;
} spare = {PTHREAD_MUTEX_INITIALIZER, {0}, 0};

static float *spare_take(void) {
    pthread_mutex_lock(&spare.lock);
    float *p = spare.n > 0 ? spare.base[--spare.n] : NULL;
    pthread_mutex_unlock(&spare.lock);
    return p;
}

static void spare_give(float *base, size_t cap) {
    pthread_mutex_lock(&spare.lock);
    if (cap == CHUNK_FLOATS && spare.n < SPARE_CHUNKS) {
        spare.base[spare.n++] = base;
        base = NULL;
    }
    pthread_mutex_unlock(&spare.lock);
    if (base) big_free(base, cap * sizeof(float));
}

/* The chunks a fresh trace's first n_pos positions will fill, made now and kept as spare ones (with
 * those already spare), their page faults taken ahead of the pass: with stop, on this thread until *stop
 * is set, for a helper thread while the program does work of its own (src/generate.c); without (NULL),
 * on all threads to the end, the spare chunks the trace will take first included (a helper may have cut
 * one short), and of the last chunk only what the positions fill. A trace in a file takes none, nor one
 * that would need more than max_bytes (it will go to a file). */
void trace_warm(const Trace *tr, int n_pos, size_t max_bytes, const atomic_int *stop) {
    if (tr->mode == TRACE_OFF || tr->spilled) return;
    n_pos = n_pos < tr->cfg.n_ctx ? n_pos : tr->cfg.n_ctx; /* no trace records more */
    int chunks = 0;
    size_t used = CHUNK_FLOATS; /* as chunk_alloc fills them: a position that does not fit starts a chunk */
    for (int p = 0; p < n_pos; p++) { /* each with n_pos keys, as a prompt's positions in one pass: the most */
        size_t n = (trace_position_floats(tr, p, n_pos, p == n_pos - 1) + 15) / 16 * 16;
        if (n > CHUNK_FLOATS) return; /* a position bigger than a chunk gets a block of its own */
        if (CHUNK_FLOATS - used < n) chunks++, used = 0;
        used += n;
    }
    if ((double)chunks * CHUNK_FLOATS * sizeof(float) > (double)max_bytes) return;
    if (!stop) {
        /* the chunks the trace will take, in the order it takes them (spare_take: the newest first),
         * held here while they are written, then given back in the same order */
        float *mine[SPARE_CHUNKS];
        int k = 0;
        while (k < chunks && k < SPARE_CHUNKS && (mine[k] = spare_take())) k++;
        for (; k < chunks && k < SPARE_CHUNKS; k++) mine[k] = big_alloc(CHUNK_FLOATS * sizeof(float));
        for (int i = 0; i < k; i++) big_prefault(mine[i], (i == chunks - 1 ? used : CHUNK_FLOATS) * sizeof(float));
        for (int i = k - 1; i >= 0; i--) spare_give(mine[i], CHUNK_FLOATS);
        return;
    }
    pthread_mutex_lock(&spare.lock);
    int have = spare.n;
    pthread_mutex_unlock(&spare.lock);
    for (int i = have; i < chunks && i < SPARE_CHUNKS && !atomic_load(stop); i++) {
        float *b = big_alloc(CHUNK_FLOATS * sizeof(float));
        big_prefault_until(b, CHUNK_FLOATS * sizeof(float), stop); /* a chunk cut short faults the rest when written */
        spare_give(b, CHUNK_FLOATS);
    }
}

/* Floats for one position from the newest chunk, starting a new chunk when it is full. Chunks are
 * fresh blocks of bigmem.h, in 4 KB or huge pages, whichever this machine fills faster (measured: on
 * one kernel huge pages filled at 0.36 GB/s against 2.3 for 4 KB pages, on another 4 KB pages at
 * 0.3-0.4 GB/s against 3-11), faulted in on all threads when made, before the pass writes into them:
 * a fresh process's first prefill writes most of its trace into fresh memory (docs/performance.md,
 * "First run"). */
static float *chunk_alloc(Trace *tr, size_t n) {
    n = (n + 15) / 16 * 16; /* keep each position 64-byte aligned */
    TraceChunk *c = tr->chunk;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_FLOATS ? n : CHUNK_FLOATS;
        c = xcalloc(1, sizeof *c);
        c->file_off = -1;
        if (tr->spilled) { /* a chunk of the spill file: grow it, map the new part */
            size_t bytes = (cap * sizeof(float) + 4095) / 4096 * 4096;
            if (ftruncate(tr->spill_fd, (off_t)(tr->spill_size + (int64_t)bytes)) == 0) {
                void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, tr->spill_fd, (off_t)tr->spill_size);
                if (m != MAP_FAILED) {
                    c->base = m;
                    c->file_off = tr->spill_size;
                    tr->spill_size += (int64_t)bytes;
                }
            }
            if (!c->base) {
                fprintf(stderr, "gptstep: cannot grow the trace's file to %.1f GB: %s\n",
                        (double)(tr->spill_size + (int64_t)bytes) / 1e9, strerror(errno));
                exit(3);
            }
        } else {
            c->base = cap == CHUNK_FLOATS ? spare_take() : NULL;
            if (!c->base) {
                c->base = big_alloc(cap * sizeof(float));
                big_prefault(c->base, cap * sizeof(float));
            }
        }
        if (!c->base) {
            fprintf(stderr, "gptstep: out of memory recording the trace (%zu MB)\n", cap * 4 >> 20);
            exit(3);
        }
        c->cap = cap;
        c->prev = tr->chunk;
        tr->chunk = c;
    }
    float *p = c->base + c->used;
    c->used += n;
    return p;
}

/* Releases every position's data from `data` (a position's start) onwards. */
static void chunk_rollback(Trace *tr, const float *data) {
    while (tr->chunk) {
        TraceChunk *c = tr->chunk;
        if (data >= c->base && data < c->base + c->cap) {
            c->used = (size_t)(data - c->base);
            return;
        }
        tr->chunk = c->prev;
        if (c->file_off >= 0) { /* the file shrinks back: its chunks are used like a stack too */
            munmap(c->base, (c->cap * sizeof(float) + 4095) / 4096 * 4096);
            tr->spill_size = c->file_off;
            if (ftruncate(tr->spill_fd, (off_t)c->file_off) != 0) { /* the space is reused by the next chunk anyway */
            }
        } else {
            spare_give(c->base, c->cap);
        }
        free(c);
    }
}

int trace_copy(Trace *dst, const Trace *src, Err *err) {
    trace_init(dst, &src->cfg, src->model, src->mode);
    memcpy(dst->interventions, src->interventions, sizeof dst->interventions);
    if (src->spilled && trace_spill(dst, err)) return -1;
    dst->head = src->head, dst->ln = src->ln, dst->head_ctx = src->head_ctx, dst->gelu = src->gelu;
    memcpy(dst->neuron_off, src->neuron_off, sizeof dst->neuron_off);
    dst->n_neuron_off = src->n_neuron_off;
    dst->steps = xmalloc(sizeof(TraceStep) * (size_t)(src->n_steps > 0 ? src->n_steps : 1));
    memcpy(dst->steps, src->steps, sizeof(TraceStep) * (size_t)src->n_steps);
    dst->n_steps = dst->cap_steps = src->n_steps;
    dst->pos = xcalloc((size_t)(src->n_pos > 0 ? src->n_pos : 1), sizeof(TracePos));
    dst->cap_pos = src->n_pos;
    const size_t V = (size_t)src->cfg.n_vocab;
    for (int i = 0; i < src->n_pos; i++) {
        const TracePos *s = &src->pos[i];
        TracePos *d = &dst->pos[i];
        *d = *s;
        d->off = xmalloc(sizeof(int64_t) * (size_t)src->n_ids);
        memcpy(d->off, s->off, sizeof(int64_t) * (size_t)src->n_ids);
        d->head = s->head ? xmalloc(sizeof(float) * 2 * V) : NULL;
        if (s->head) memcpy(d->head, s->head, sizeof(float) * 2 * V);
        d->derived = NULL; /* derived again from the copied scores when read */
        d->data = s->n_floats + s->n_scores ? chunk_alloc(dst, s->n_floats + s->n_scores) : NULL;
        if (s->n_floats) memcpy(d->data, s->data, sizeof(float) * s->n_floats);
        d->scores = s->n_scores ? d->data + s->n_floats : NULL;
        if (s->n_scores) memcpy(d->scores, s->scores, sizeof(float) * s->n_scores);
        dst->n_pos = i + 1;
        if (dst->spilled && i % 64 == 63) trace_release(dst);
    }
    if (dst->spilled) trace_release(dst);
    return 0;
}

static void free_pos(const Trace *tr, TracePos *p) {
    trace_forget_computed(tr, p);
    free(p->off);
}

/* Forgets the keys gathered for reading later keys' scores (Trace.keys): a position's attn.k changed or
 * went. */
static void drop_keys(const Trace *tr) {
    Trace *t = (Trace *)tr; /* a cache, like the derived tensors */
    for (int l = 0; t->keys && l < t->cfg.n_layer; l++) free(t->keys[l]);
    free(t->keys);
    t->keys = NULL;
    t->keys_n = 0;
}

void trace_free(Trace *tr) {
    for (int i = 0; i < tr->n_pos; i++) free_pos(tr, &tr->pos[i]);
    chunk_rollback(tr, NULL);
    if (tr->spilled) close(tr->spill_fd);
    free(tr->pos);
    free(tr->steps);
    memset(tr, 0, sizeof *tr);
}

void trace_truncate(Trace *tr, int n_pos) {
    if (n_pos < 0) n_pos = 0;
    if (n_pos < tr->n_pos) drop_keys(tr);
    const float *first = NULL; /* the first data of a removed position */
    for (int i = n_pos; i < tr->n_pos && !first; i++) first = tr->pos[i].data;
    if (first) chunk_rollback(tr, first);
    for (int i = n_pos; i < tr->n_pos; i++) free_pos(tr, &tr->pos[i]);
    if (n_pos < tr->n_pos) tr->n_pos = n_pos;
    while (tr->n_steps > 0 && tr->steps[tr->n_steps - 1].pos0 >= n_pos) tr->n_steps--;
    if (tr->n_steps > 0) {
        TraceStep *s = &tr->steps[tr->n_steps - 1];
        if (s->pos0 + s->n_pos > n_pos) s->n_pos = n_pos - s->pos0;
    }
}

int trace_id(const Trace *tr, TensorKind kind, int layer) {
    if (!tr) return -1;
    if (kind < TK_FIRST_LAYER) return (int)kind;
    if (kind <= TK_LAST_LAYER) return 3 + layer * TK_PER_LAYER + (int)(kind - TK_FIRST_LAYER);
    return 3 + tr->cfg.n_layer * TK_PER_LAYER + (int)(kind - TK_LN_F);
}

TensorKind trace_kind_of(const Trace *tr, int id, int *layer) {
    *layer = -1;
    if (id < 3) return (TensorKind)id;
    int k = id - 3;
    if (k < tr->cfg.n_layer * TK_PER_LAYER) {
        *layer = k / TK_PER_LAYER;
        return (TensorKind)(TK_FIRST_LAYER + k % TK_PER_LAYER);
    }
    return (TensorKind)(TK_LN_F + (k - tr->cfg.n_layer * TK_PER_LAYER));
}

void trace_name(const Trace *tr, int id, char *buf, size_t cap) {
    int layer;
    TensorKind k = trace_kind_of(tr, id, &layer);
    if (layer >= 0) snprintf(buf, cap, "h.%d.%s", layer, KIND_NAMES[k]);
    else snprintf(buf, cap, "%s", KIND_NAMES[k]);
}

int trace_id_by_name(const Trace *tr, const char *name) {
    long layer = -1;
    const char *kind = name, *end;
    if (!strncmp(name, "h.", 2)) {
        if (parse_int_prefix(name + 2, 0, tr->cfg.n_layer - 1, &layer, &end) || *end != '.') return -1;
        kind = end + 1;
        for (int k = TK_FIRST_LAYER; k <= TK_LAST_LAYER; k++)
            if (strcmp(kind, KIND_NAMES[k]) == 0) return trace_id(tr, (TensorKind)k, (int)layer);
        return -1;
    }
    for (int k = 0; k < TK_COUNT; k++)
        if ((k < TK_FIRST_LAYER || k > TK_LAST_LAYER) && strcmp(kind, KIND_NAMES[k]) == 0)
            return trace_id(tr, (TensorKind)k, 0);
    return -1;
}

static int shape_of(const Gpt2Config *c, TensorKind k, int n_keys, int64_t shape[2]) {
    switch (k) {
    case TK_Q: case TK_K: case TK_V: case TK_HEADS:
        shape[0] = c->n_head;
        shape[1] = c->n_embd / c->n_head;
        return 2;
    case TK_SCORES: case TK_MASKED: case TK_WEIGHTS:
        shape[0] = c->n_head;
        shape[1] = n_keys;
        return 2;
    case TK_FC: case TK_GELU:
        shape[0] = c->n_inner;
        return 1;
    case TK_LOGITS: case TK_PROBS:
        shape[0] = c->n_vocab;
        return 1;
    default:
        shape[0] = c->n_embd;
        return 1;
    }
}

int trace_shape(const Trace *tr, int id, int p, int64_t shape[2]) {
    int layer;
    TensorKind k = trace_kind_of(tr, id, &layer);
    shape[1] = 1;
    return shape_of(&tr->cfg, k, p >= 0 && p < tr->n_pos ? tr->pos[p].n_keys : 0, shape);
}

/* 1: recorded now; 0: not recorded; TRACE_DEFERRED or TRACE_DERIVED: computed when first read. */
static int recorded(TraceMode mode, TensorKind k, int has_logits) {
    if (k == TK_MASKED || k == TK_WEIGHTS) return mode == TRACE_OFF ? 0 : TRACE_DERIVED; /* from the scores, recorded in both modes */
    if (k == TK_LN_1 || k == TK_RESID_MID || k == TK_LN_2 || k == TK_GELU) return mode == TRACE_FULL ? TRACE_DERIVED : 0;
    if (k == TK_LOGITS || k == TK_PROBS)
        return mode == TRACE_OFF ? 0 : has_logits ? 1 : mode == TRACE_FULL ? TRACE_DEFERRED : 0;
    if (mode == TRACE_FULL) return 1;
    return mode == TRACE_ATTN && (k == TK_SCORES || k == TK_WEIGHTS);
}

/* How tensor id is kept at a position with n_keys keys (1: recorded, TRACE_DEFERRED, TRACE_DERIVED or 0), and its
 * number of floats. */
static int tensor_floats(const Trace *tr, int id, int n_keys, int has_logits, size_t *floats) {
    int layer;
    TensorKind k = trace_kind_of(tr, id, &layer);
    int64_t shape[2] = {1, 1};
    int nd = shape_of(&tr->cfg, k, n_keys, shape);
    *floats = (size_t)(shape[0] * (nd == 2 ? shape[1] : 1));
    return recorded(tr->mode, k, has_logits);
}

/* Whether the position at index pos, with n_keys keys, keeps its scores up to itself alone
 * (TracePos.scores; trace.h's TRACE_DERIVED): a prompt position but the last, in full recording in
 * memory, when the pass scores with the fast kernels. */
static int scores_to_itself(const Trace *tr, int pos, int n_keys) {
    return tr->mode == TRACE_FULL && !tr->spilled && !tr->whole_rows && pos + 1 < n_keys;
}

/* How tensor id is kept at the position at index pos (tensor_floats, with that position's scores
 * derived when it keeps them up to itself alone). */
static int kept_as(const Trace *tr, int id, int pos, int n_keys, int has_logits, size_t *floats) {
    int r = tensor_floats(tr, id, n_keys, has_logits, floats), layer;
    if (r == 1 && scores_to_itself(tr, pos, n_keys) && trace_kind_of(tr, id, &layer) == TK_SCORES) r = TRACE_DERIVED;
    return r;
}

/* The floats of a position's scores up to itself (TracePos.scores), or 0. */
static size_t scores_floats(const Trace *tr, int pos, int n_keys) {
    return scores_to_itself(tr, pos, n_keys) ? (size_t)tr->cfg.n_layer * tr->cfg.n_head * (size_t)(pos + 1) : 0;
}

size_t trace_position_floats(const Trace *tr, int pos, int n_keys, int has_logits) {
    size_t total = scores_floats(tr, pos, n_keys), f;
    for (int id = 0; id < tr->n_ids; id++)
        if (kept_as(tr, id, pos, n_keys, has_logits, &f) == 1) total += f;
    return total;
}

TracePos *trace_add_pos(Trace *tr, int token, int n_keys, int has_logits) {
    if (tr->n_pos == tr->cap_pos) {
        tr->cap_pos = tr->cap_pos ? tr->cap_pos * 2 : 64;
        tr->pos = xrealloc(tr->pos, (size_t)tr->cap_pos * sizeof(TracePos));
    }
    const int index = tr->n_pos;
    TracePos *p = &tr->pos[tr->n_pos++];
    memset(p, 0, sizeof *p);
    p->token = token;
    p->step = tr->n_steps - 1;
    p->n_keys = n_keys;
    p->off = xmalloc((size_t)tr->n_ids * sizeof(int64_t));
    size_t total = 0, f;
    for (int id = 0; id < tr->n_ids; id++) {
        int r = kept_as(tr, id, index, n_keys, has_logits, &f);
        if (r == 1) {
            p->off[id] = (int64_t)total;
            total += f;
        } else {
            p->off[id] = r ? r : -1;
        }
    }
    p->n_floats = total;
    p->n_scores = scores_floats(tr, index, n_keys);
    /* not zeroed: the forward pass writes every recorded tensor in full */
    p->data = total + p->n_scores ? chunk_alloc(tr, total + p->n_scores) : NULL;
    p->scores = p->n_scores ? p->data + total : NULL;
    return p;
}

void trace_set_neurons_off(Trace *tr, int layer, const TraceNeuronOff *off, int n) {
    int k = 0;
    for (int i = 0; i < tr->n_neuron_off; i++) /* the other layers' stay */
        if (tr->neuron_off[i].layer != layer) tr->neuron_off[k++] = tr->neuron_off[i];
    for (int i = 0; i < n && k < TRACE_NEURONS_OFF_MAX; i++) tr->neuron_off[k++] = off[i];
    tr->n_neuron_off = k;
}

float *trace_slot(Trace *tr, TracePos *p, int id) {
    (void)tr;
    return p->off[id] >= 0 ? p->data + p->off[id] : NULL;
}

/* Computes the deferred logits and probs of positions ps[0..n) in one batch. */
static void compute_heads(const Trace *tr, TracePos *const *ps, int n) {
    const int C = tr->cfg.n_embd, V = tr->cfg.n_vocab, ln_f = trace_id(tr, TK_LN_F, 0);
    if (n == 0 || !tr->head) return;
    float *x = alloc_floats((size_t)n * C), *out = alloc_floats((size_t)n * 2 * V);
    for (int i = 0; i < n; i++) memcpy(x + (size_t)i * C, ps[i]->data + ps[i]->off[ln_f], (size_t)C * sizeof(float));
    float *logits = out, *probs = out + (size_t)n * V;
    tr->head(tr->head_ctx, x, n, logits, probs);
    for (int i = 0; i < n; i++) {
        ps[i]->head = alloc_floats(2 * (size_t)V);
        memcpy(ps[i]->head, logits + (size_t)i * V, (size_t)V * sizeof(float));
        memcpy(ps[i]->head + V, probs + (size_t)i * V, (size_t)V * sizeof(float));
    }
    free(x);
    free(out);
}

/* Where a derived tensor of one layer is kept in TracePos.derived (trace.h's TRACE_DERIVED), or -1. */
static int derived_slot(TensorKind kind, int layer) {
    static const TensorKind order[TRACE_N_DERIVED] = {TK_MASKED, TK_WEIGHTS, TK_LN_1, TK_RESID_MID, TK_LN_2, TK_GELU, TK_SCORES};
    for (int i = 0; i < TRACE_N_DERIVED; i++)
        if (order[i] == kind) return layer * TRACE_N_DERIVED + i;
    return -1;
}

/* Layer `layer`'s attn.k of positions 0..K-1 side by side (Trace.keys, gathered on first need and kept
 * for the next reads of rows with K keys), or NULL when one was not recorded. */
static const float *later_keys(const Trace *tr, int layer, int K) {
    Trace *t = (Trace *)tr; /* a cache, like the derived tensors */
    const size_t C = (size_t)tr->cfg.n_embd;
    if (K > tr->n_pos) return NULL;
    if (t->keys && t->keys_n != K) drop_keys(t);
    if (!t->keys) t->keys = xcalloc((size_t)tr->cfg.n_layer, sizeof(float *)), t->keys_n = K;
    if (!t->keys[layer]) {
        float *k = alloc_floats((size_t)K * C);
        for (int j = 0; j < K; j++) {
            const float *row = trace_get(tr, trace_id(tr, TK_K, layer), j);
            if (!row) {
                free(k);
                return NULL;
            }
            memcpy(k + (size_t)j * C, row, sizeof(float) * C);
        }
        t->keys[layer] = k;
    }
    return t->keys[layer];
}

/* Position p's whole raw score rows of one layer into out (NH, K), from its scores up to itself (sc,
 * p + 1 a head): then q of the position against k of each later one, 16-lane dot products by
 * attn_scores_fast one query at a time as in the pass (each score's sum is the same either way). */
static int later_scores(const Trace *tr, int layer, int p, const float *sc, float *out) {
    const Gpt2Config *c = &tr->cfg;
    const int C = c->n_embd, NH = c->n_head, HS = C / NH, K = tr->pos[p].n_keys;
    const float *q = trace_get(tr, trace_id(tr, TK_Q, layer), p), *keys = p + 1 < K ? later_keys(tr, layer, K) : NULL;
    if (!q || (p + 1 < K && !keys)) return -1;
    const float scale = 1.0f / sqrtf((float)HS); /* as attention_forward_fast */
    for (int h = 0; h < NH; h++) {
        float *row = out + (size_t)h * K;
        memcpy(row, sc + (size_t)h * (p + 1), sizeof(float) * (size_t)(p + 1));
        if (p + 1 == K) continue;
        float *later = row + p + 1;
        const float *qh = q + (size_t)h * HS;
        attn_scores_fast(&later, &qh, 1, keys + (size_t)(p + 1) * C + (size_t)h * HS, (size_t)C, K - p - 1, HS, scale);
    }
    return 0;
}

/* Position p's derived tensor `kind` of one layer into out, as the pass makes it (trace.h's
 * TRACE_DERIVED): the masked scores (attn_mask) or attention weights (softmax_masked: the softmax of the
 * scores up to the position, 0 after it), neither of which reads a score after the position; ln_1 from
 * the block's input (the embedding, or the layer before's resid_out), resid_mid as that input plus
 * attn.proj, ln_2 from resid_mid, mlp.gelu from mlp.fc with the neurons the pass switched off; and the
 * whole raw scores of a position that keeps them up to itself alone (later_scores). */
static int derive(const Trace *tr, TensorKind kind, int layer, int p, float *out) {
    const TracePos *tp = &tr->pos[p];
    const size_t C = (size_t)tr->cfg.n_embd;
    if (kind == TK_GELU) {
        const float *fc = trace_get(tr, trace_id(tr, TK_FC, layer), p);
        if (!fc || !tr->gelu) return -1;
        tr->gelu(out, fc, (size_t)tr->cfg.n_inner);
        for (int i = 0; i < tr->n_neuron_off; i++)
            if (tr->neuron_off[i].layer == layer) out[tr->neuron_off[i].index] = tr->neuron_off[i].value;
        return 0;
    }
    if (kind == TK_LN_1 || kind == TK_RESID_MID || kind == TK_LN_2) {
        const float *in = trace_get(tr, layer ? trace_id(tr, TK_RESID_OUT, layer - 1) : trace_id(tr, TK_EMBED, 0), p);
        if (kind == TK_LN_2) in = trace_get(tr, trace_id(tr, TK_RESID_MID, layer), p);
        if (!in || (kind != TK_RESID_MID && !tr->ln)) return -1;
        if (kind == TK_RESID_MID) {
            const float *proj = trace_get(tr, trace_id(tr, TK_ATTN_PROJ, layer), p);
            if (!proj) return -1;
            residual_forward(out, in, proj, C);
        } else {
            tr->ln(tr->head_ctx, layer, kind == TK_LN_1 ? 1 : 2, in, out);
        }
        return 0;
    }
    /* the scores up to the position: in the row (K of them a head), or kept alone (p + 1 a head) */
    const int NH = tr->cfg.n_head;
    const size_t K = (size_t)tp->n_keys, S = tp->scores ? (size_t)p + 1 : K;
    const int64_t at = tp->off[trace_id(tr, TK_SCORES, layer)];
    const float *sc = tp->scores ? tp->scores + (size_t)layer * NH * S : at >= 0 && tp->data ? tp->data + at : NULL;
    if (!sc) return -1;
    if (kind == TK_SCORES) return later_scores(tr, layer, p, sc, out);
    for (int h = 0; h < NH; h++) {
        if (kind == TK_WEIGHTS) softmax_masked(out + h * K, sc + h * S, (int)K, p);
        else attn_mask(out + h * K, sc + h * S, (int)K, p);
    }
    return 0;
}

void trace_forget_computed(const Trace *tr, TracePos *p) {
    drop_keys(tr);
    free(p->head);
    p->head = NULL;
    if (p->derived)
        for (int i = 0; i < TRACE_N_DERIVED * tr->cfg.n_layer; i++) free(p->derived[i]);
    free(p->derived);
    p->derived = NULL;
}

const float *trace_get(const Trace *tr, int id, int p) {
    if (p < 0 || p >= tr->n_pos || id < 0 || id >= tr->n_ids) return NULL;
    const TracePos *tp = &tr->pos[p];
    if (tp->off[id] == TRACE_DERIVED) { /* kept once derived, like the deferred logits below */
        TracePos *mp = (TracePos *)tp;
        int layer;
        TensorKind kind = trace_kind_of(tr, id, &layer);
        const int slot = derived_slot(kind, layer);
        if (slot < 0) return NULL;
        size_t n;
        tensor_floats(tr, id, tp->n_keys, 0, &n);
        if (!mp->derived) mp->derived = xcalloc(TRACE_N_DERIVED * (size_t)tr->cfg.n_layer, sizeof(float *));
        if (!mp->derived[slot]) {
            float *m = alloc_floats(n);
            if (derive(tr, kind, layer, p, m)) {
                free(m);
                return NULL;
            }
            mp->derived[slot] = m;
        }
        return mp->derived[slot];
    }
    if (tp->off[id] == TRACE_DEFERRED) {
        /* a cache filled on first read: the position array is the trace's own heap memory */
        TracePos *mp = (TracePos *)tp;
        if (!mp->head) compute_heads(tr, &mp, 1);
        if (!mp->head) return NULL;
        return mp->head + (id == trace_id(tr, TK_PROBS, 0) ? tr->cfg.n_vocab : 0);
    }
    return tp->off[id] >= 0 && tp->data ? tp->data + tp->off[id] : NULL;
}

int trace_recorded(const Trace *tr, int id, int p) {
    if (p < 0 || p >= tr->n_pos || id < 0 || id >= tr->n_ids) return 0;
    return tr->pos[p].off[id] >= 0 || tr->pos[p].off[id] == TRACE_DEFERRED || tr->pos[p].off[id] == TRACE_DERIVED;
}

/* The deferred logits and probs of positions [from, to) not computed yet, in one batch; ps (room for
 * to - from) gets the positions computed, and the count is returned. */
static int compute_deferred(const Trace *tr, int from, int to, TracePos **ps) {
    int id = trace_id(tr, TK_LOGITS, 0), n = 0;
    for (int p = from; p < to; p++)
        if (tr->pos[p].off[id] == TRACE_DEFERRED && !tr->pos[p].head) ps[n++] = &tr->pos[p];
    compute_heads(tr, ps, n);
    return n;
}

void trace_materialize(Trace *tr) {
    TracePos **ps = xcalloc((size_t)tr->n_pos + 1, sizeof *ps);
    compute_deferred(tr, 0, tr->n_pos, ps);
    free(ps);
}

TraceStep *trace_begin_step(Trace *tr, int pos0, int n_pos) {
    if (tr->n_steps == tr->cap_steps) {
        tr->cap_steps = tr->cap_steps ? tr->cap_steps * 2 : 64;
        tr->steps = xrealloc(tr->steps, (size_t)tr->cap_steps * sizeof(TraceStep));
    }
    TraceStep *s = &tr->steps[tr->n_steps++];
    memset(s, 0, sizeof *s);
    s->pos0 = pos0;
    s->n_pos = n_pos;
    s->chosen = -1;
    return s;
}

/* ---- file format: all integers and floats little-endian (the machines gptstep runs on) ---- */
#define TRACE_MAGIC "GPTSTEPT"
#define TRACE_VERSION 2 /* 2: the interventions follow the model name; 1 is still read */

static int put(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }
static int put_i32(FILE *f, int32_t v) { return put(f, &v, 4); }

int trace_save(const Trace *tr, const char *path, Err *err) {
    /* a file holds every tensor: the deferred logits and probs are computed a block of positions at a
     * time as they are written, and not kept (a 1,024-token prompt's are 0.4 GB: all at once they were
     * most of a saved long trace's peak memory), nor are the derived tensors */
    const int had_keys = tr->keys != NULL;
    enum { BLOCK = 64 };
    TracePos *block[BLOCK];
    int n_block = 0;
    FILE *f = fopen(path, "wb");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    const Gpt2Config *c = &tr->cfg;
    int rc = put(f, TRACE_MAGIC, 8);
    int32_t head[] = {TRACE_VERSION, (int32_t)tr->mode, c->n_layer, c->n_head, c->n_embd,
                      c->n_vocab,    c->n_ctx,          c->n_inner, tr->n_ids};
    rc |= put(f, head, sizeof head);
    rc |= put(f, &c->ln_eps, 4);
    int32_t nl = (int32_t)strlen(tr->model);
    rc |= put_i32(f, nl) | put(f, tr->model, (size_t)nl);
    int32_t il = (int32_t)strlen(tr->interventions);
    rc |= put_i32(f, il) | put(f, tr->interventions, (size_t)il);
    rc |= put_i32(f, tr->n_steps);
    for (int i = 0; i < tr->n_steps && rc == 0; i++) {
        const TraceStep *s = &tr->steps[i];
        rc |= put_i32(f, s->pos0) | put_i32(f, s->n_pos) | put_i32(f, s->chosen) | put(f, &s->chosen_prob, 4);
        rc |= put_i32(f, s->sampler.greedy) | put(f, &s->sampler.temperature, 4) | put_i32(f, s->sampler.top_k);
        rc |= put(f, &s->sampler.top_p, 4) | put(f, &s->sampler.seed, 8);
    }
    rc |= put_i32(f, tr->n_pos);
    const int id_logits = trace_id(tr, TK_LOGITS, 0), id_probs = trace_id(tr, TK_PROBS, 0);
    int64_t *off = xmalloc((size_t)tr->n_ids * sizeof(int64_t));
    char *kept = xmalloc(TRACE_N_DERIVED * (size_t)tr->cfg.n_layer);
    for (int i = 0; i < tr->n_pos && rc == 0; i++) {
        if (i % BLOCK == 0) {
            for (int b = 0; b < n_block; b++) free(block[b]->head), block[b]->head = NULL;
            n_block = compute_deferred(tr, i, i + BLOCK < tr->n_pos ? i + BLOCK : tr->n_pos, block);
        }
        const TracePos *p = &tr->pos[i];
        /* deferred logits and probs, then each derived tensor in the order of the ids, follow the
         * position's data, as if recorded with it */
        int deferred = p->off[id_logits] == TRACE_DEFERRED && p->head;
        uint64_t nf = p->n_floats + (deferred ? 2 * (uint64_t)tr->cfg.n_vocab : 0);
        memcpy(off, p->off, (size_t)tr->n_ids * sizeof(int64_t));
        for (int id = 0; id < tr->n_ids; id++) {
            if (off[id] == TRACE_DERIVED && p->data) {
                size_t nm;
                tensor_floats(tr, id, p->n_keys, 0, &nm);
                off[id] = (int64_t)nf;
                nf += nm;
            } else if (off[id] == TRACE_DEFERRED || off[id] == TRACE_DERIVED) {
                off[id] = -1;
            }
        }
        if (deferred) {
            off[id_logits] = (int64_t)p->n_floats;
            off[id_probs] = (int64_t)p->n_floats + tr->cfg.n_vocab;
        }
        rc |= put_i32(f, p->token) | put_i32(f, p->step) | put_i32(f, p->n_keys) | put_i32(f, 0);
        rc |= put(f, &nf, 8) | put(f, off, (size_t)tr->n_ids * 8);
        if (p->n_floats) rc |= put(f, p->data, p->n_floats * 4);
        if (deferred) rc |= put(f, p->head, 2 * (size_t)tr->cfg.n_vocab * 4);
        /* what is derived now is written, then not kept: which tensors were kept before */
        const int n_slots = TRACE_N_DERIVED * tr->cfg.n_layer;
        for (int k = 0; k < n_slots; k++) kept[k] = p->derived && p->derived[k];
        for (int id = 0; id < tr->n_ids && rc == 0; id++) {
            if (p->off[id] != TRACE_DERIVED || !p->data) continue;
            size_t nm;
            tensor_floats(tr, id, p->n_keys, 0, &nm);
            const float *d = trace_get(tr, id, i); /* as read: kept ones as they are, others derived */
            rc |= d ? put(f, d, nm * 4) : -1;
        }
        for (int k = 0; p->derived && k < n_slots; k++)
            if (!kept[k]) free(p->derived[k]), p->derived[k] = NULL;
        if (tr->spilled && p->n_floats && in_file_chunk(tr, p->data)) { /* written: out of resident memory again */
            uintptr_t a = ((uintptr_t)p->data + 4095) & ~(uintptr_t)4095, e = ((uintptr_t)(p->data + p->n_floats)) & ~(uintptr_t)4095;
            if (e > a) madvise((void *)a, e - a, MADV_DONTNEED);
        }
    }
    for (int b = 0; b < n_block; b++) free(block[b]->head), block[b]->head = NULL;
    free(off);
    free(kept);
    if (!had_keys) drop_keys(tr);
    if (fclose(f) != 0) rc = -1;
    if (rc) return err_set(err, "%s: write failed (disk full?)", path);
    return 0;
}

static int get(FILE *f, void *p, size_t n) { return fread(p, 1, n, f) == n ? 0 : -1; }

int trace_load(Trace *tr, const char *path, Err *err) { return trace_load_part(tr, path, -2, 0, err); }

int trace_load_part(Trace *tr, const char *path, int want_id, int want_pos, Err *err) {
    memset(tr, 0, sizeof *tr);
    if (path_is_dir(path)) return err_set(err, "%s: is a folder, expected a trace file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    /* every size the file declares is checked against what the file holds before anything is allocated */
    uint64_t file_len = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long e = ftell(f);
        file_len = e > 0 ? (uint64_t)e : 0;
    }
    fseek(f, 0, SEEK_SET);
    char magic[8];
    int32_t head[9];
    Gpt2Config c = {0};
    int rc = 0;
    if (get(f, magic, 8) || memcmp(magic, TRACE_MAGIC, 8)) {
        rc = err_set(err, "%s: not a gptstep trace (magic is not \"GPTSTEPT\")", path);
    } else if (get(f, head, sizeof head) || get(f, &c.ln_eps, 4)) {
        rc = err_set(err, "%s: truncated trace header", path);
    } else if (head[0] != TRACE_VERSION && head[0] != 1) {
        rc = err_set(err, "%s: trace version %d, expected 1..%d", path, head[0], TRACE_VERSION);
    } else {
        c.n_layer = head[2], c.n_head = head[3], c.n_embd = head[4], c.n_vocab = head[5], c.n_ctx = head[6];
        c.n_inner = head[7];
        if (c.n_layer < 1 || c.n_layer > 1000 || c.n_head < 1 || c.n_embd < 1 || c.n_embd % c.n_head ||
            c.n_vocab < 1 || c.n_ctx < 1 || c.n_inner < 1 || head[1] < 0 || head[1] > 2)
            rc = err_set(err, "%s: trace header has impossible sizes", path);
    }
    int32_t nl = 0;
    char name[256] = "";
    if (rc == 0 && (get(f, &nl, 4) || nl < 0 || nl >= (int32_t)sizeof name || get(f, name, (size_t)nl)))
        rc = err_set(err, "%s: bad model name in trace header", path);
    if (rc) {
        fclose(f);
        return rc;
    }
    name[nl] = 0;
    int32_t il = 0;
    char inter[sizeof tr->interventions] = "";
    if (head[0] >= 2 && (get(f, &il, 4) || il < 0 || il >= (int32_t)sizeof inter || get(f, inter, (size_t)il))) {
        fclose(f);
        return err_set(err, "%s: bad interventions in trace header", path);
    }
    inter[il] = 0;
    trace_init(tr, &c, name, (TraceMode)head[1]);
    snprintf(tr->interventions, sizeof tr->interventions, "%s", inter);
    if (tr->n_ids != head[8]) rc = err_set(err, "%s: trace has %d tensor ids, expected %d", path, head[8], tr->n_ids);
    int32_t ns = 0;
    if (rc == 0 && (get(f, &ns, 4) || ns < 0 || (uint64_t)ns * 40 > file_len))
        rc = err_set(err, "%s: bad step count %d for a %llu-byte file", path, ns, (unsigned long long)file_len);
    for (int i = 0; i < ns && rc == 0; i++) {
        TraceStep *s = trace_begin_step(tr, 0, 0);
        int32_t v[3] = {0, 0, 0}, g = 0, k = 0; /* read below; on a truncated file, stored as 0 */
        if (get(f, v, 12) || get(f, &s->chosen_prob, 4) || get(f, &g, 4) || get(f, &s->sampler.temperature, 4) ||
            get(f, &k, 4) || get(f, &s->sampler.top_p, 4) || get(f, &s->sampler.seed, 8))
            rc = err_set(err, "%s: truncated at step %d", path, i);
        s->pos0 = v[0], s->n_pos = v[1], s->chosen = v[2], s->sampler.greedy = g, s->sampler.top_k = k;
    }
    int32_t np = 0;
    if (rc == 0 && (get(f, &np, 4) || np < 0 || np > c.n_ctx)) rc = err_set(err, "%s: bad position count", path);
    for (int i = 0; i < np && rc == 0; i++) {
        int32_t v[4];
        uint64_t nf;
        if (get(f, v, 16) || get(f, &nf, 8)) {
            rc = err_set(err, "%s: truncated at position %d", path, i);
            break;
        }
        long here = ftell(f);
        uint64_t left = here >= 0 && (uint64_t)here <= file_len ? file_len - (uint64_t)here : 0;
        if (v[2] < 0 || v[2] > c.n_ctx || nf > left / 4 || (uint64_t)tr->n_ids * 8 > left) {
            rc = err_set(err, "%s: position %d declares %llu floats and %d keys, more than the file holds", path, i,
                         (unsigned long long)nf, v[2]);
            break;
        }
        if (v[0] < 0 || v[0] >= c.n_vocab || v[1] < 0 || v[1] >= ns) {
            rc = err_set(err, "%s: position %d has token %d (expected 0..%d) and step %d (expected 0..%d)", path, i, v[0],
                         c.n_vocab - 1, v[1], ns - 1);
            break;
        }
        if (tr->n_pos == tr->cap_pos) {
            tr->cap_pos = tr->cap_pos ? tr->cap_pos * 2 : 64;
            tr->pos = xrealloc(tr->pos, (size_t)tr->cap_pos * sizeof(TracePos));
        }
        TracePos *p = &tr->pos[tr->n_pos++];
        memset(p, 0, sizeof *p);
        p->token = v[0], p->step = v[1], p->n_keys = v[2], p->n_floats = nf;
        p->off = xmalloc((size_t)tr->n_ids * 8);
        if (get(f, p->off, (size_t)tr->n_ids * 8)) {
            rc = err_set(err, "%s: truncated at position %d", path, i);
            break;
        }
        for (int id = 0; id < tr->n_ids && rc == 0; id++) {
            int64_t sh[2];
            int nd = trace_shape(tr, id, i, sh);
            uint64_t n = (uint64_t)(sh[0] * (nd == 2 ? sh[1] : 1));
            if (p->off[id] < -1 || (p->off[id] >= 0 && (uint64_t)p->off[id] + n > nf))
                rc = err_set(err, "%s: position %d: tensor offset out of range", path, i);
        }
        if (rc) break;
        if (want_id == -2) { /* everything */
            p->data = nf ? chunk_alloc(tr, nf) : NULL;
            if (nf && get(f, p->data, nf * 4)) rc = err_set(err, "%s: truncated at position %d", path, i);
        } else if (i == want_pos && want_id >= 0 && p->off[want_id] >= 0) { /* this tensor's floats alone */
            int64_t sh[2];
            int nd = trace_shape(tr, want_id, i, sh);
            uint64_t n = (uint64_t)(sh[0] * (nd == 2 ? sh[1] : 1)), at = (uint64_t)p->off[want_id];
            p->data = chunk_alloc(tr, n ? n : 1);
            if (fseek(f, (long)(at * 4), SEEK_CUR) || get(f, p->data, n * 4) || fseek(f, (long)((nf - at - n) * 4), SEEK_CUR))
                rc = err_set(err, "%s: truncated at position %d", path, i);
            for (int id = 0; id < tr->n_ids; id++) p->off[id] = id == want_id ? 0 : -1;
            p->n_floats = n;
        } else { /* the index only: which tensors it holds, not their floats */
            p->data = NULL;
            if (fseek(f, (long)(nf * 4), SEEK_CUR)) rc = err_set(err, "%s: truncated at position %d", path, i);
        }
    }
    /* the steps cover the positions in order; chosen tokens are in the vocabulary */
    for (int i = 0, next = 0; i < ns && rc == 0; i++) {
        const TraceStep *st = &tr->steps[i];
        if (st->pos0 != next || st->n_pos < 0 || (int64_t)st->pos0 + st->n_pos > np || st->chosen < -1 || st->chosen >= c.n_vocab)
            rc = err_set(err, "%s: step %d covers positions %d..%lld and chose %d: expected positions from %d within %d, a "
                         "token -1..%d", path, i, st->pos0, (long long)st->pos0 + st->n_pos - 1, st->chosen, next, np,
                         c.n_vocab - 1);
        if (rc == 0) next = st->pos0 + st->n_pos; /* in range: checked above */
    }
    fclose(f);
    if (rc) trace_free(tr);
    return rc;
}

int npy_save(const char *path, const float *data, int ndim, const int64_t *shape, Err *err) {
    char dict[256], shp[96] = "";
    size_t k = 0;
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        k += (size_t)snprintf(shp + k, sizeof shp - k, "%lld,%s", (long long)shape[i], ndim > 1 && i < ndim - 1 ? " " : "");
        n *= (size_t)shape[i];
    }
    if (ndim > 1 && k > 0) shp[k - 1] = 0; /* "(2, 3)" rather than "(2, 3,)" */
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
    /* Header (magic 6 + version 2 + length 2 + dict + padding + '\n') is a multiple of 64 bytes. */
    int total = 10 + dl + 1;
    int pad = (64 - total % 64) % 64;
    FILE *f = fopen(path, "wb");
    if (!f) return err_set(err, "%s: cannot write: %s", path, strerror(errno));
    uint16_t hl = (uint16_t)(dl + pad + 1);
    int rc = put(f, "\x93NUMPY\x01\x00", 8) | put(f, &hl, 2) | put(f, dict, (size_t)dl);
    for (int i = 0; i < pad; i++) rc |= put(f, " ", 1);
    rc |= put(f, "\n", 1) | put(f, data, n * 4);
    if (fclose(f) != 0) rc = -1;
    return rc ? err_set(err, "%s: write failed", path) : 0;
}
