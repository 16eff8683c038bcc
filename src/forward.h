/* forward.h - GPT-2's forward pass with a KV cache, recording every intermediate tensor into a Trace.
 * Feeding T new tokens costs T positions: keys and values of earlier positions come from the cache. */
#ifndef GPTSTEP_FORWARD_H
#define GPTSTEP_FORWARD_H

#include <stdatomic.h>

#include "common.h"
#include "model.h"
#include "interventions.h"
#include "trace.h"

/* Activation patching: at one position, one activation is replaced by a value from another run (the
 * clean run's), and the rest of the pass runs on from it. */
typedef enum { PATCH_NONE, PATCH_RESID, PATCH_HEAD, PATCH_MLP } PatchKind;

typedef struct {
    PatchKind kind;  /* RESID: h.L.resid_out; HEAD: head H's slice of h.L.attn.heads; MLP: h.L.mlp.proj */
    int layer, head, pos; /* pos -1: every position, value then holding one row per position */
    const float *value; /* (C), or (HS) for a head; with pos -1, (positions, C) or (positions, HS) */
} Patch;

typedef struct {
    const Gpt2Model *m;
    Interventions iv;         /* what this state's forward passes switch off (none by default) */
    Patch patch;              /* one activation taken from another run (kind PATCH_NONE: none) */
    /* Mean ablation: the clean run's mean over mean_n positions of every part that can be switched off:
     * per layer heads (C), attn.proj (C), mlp.gelu (4C), mlp.proj (C), then the position embedding (C).
     * mean_tokens are the tokens it was taken over (gpt2_collect_means). */
    float *mean;
    int *mean_tokens, mean_n;
    int collect;              /* 1 during gpt2_collect_means's pass: sums the parts into mean */
    float *k_cache, *v_cache; /* (NCTX, L, C): keys and values of every position seen so far */
    int n_past;               /* positions in the cache */
    int cap_T, cap_K;         /* scratch sized for blocks of cap_T tokens and cap_K keys */
    float *scratch;           /* one block (bigmem.h) holding x ... gelu below */
    size_t scratch_bytes;
    float *x;                 /* (T, C) the residual stream */
    float *tok, *pos;         /* (T, C) embedding parts */
    float *ln;                /* (T, C) LayerNorm output */
    float *qkv;               /* (T, 3C) */
    float *att;               /* (NH, T, K) the attention weights (the trace derives its own from the scores) */
    float *scores;            /* (NH, T, K) the scores when they are not recorded */
    float *heads;             /* (T, C) per-head attention outputs, concatenated */
    float *proj;              /* (T, C) */
    float *fc, *gelu;         /* (T, 4C) */
    float *logits;            /* (1, V), or (T, V) with all_logits */
    int cap_logits;           /* rows it holds */
    int use_reference;        /* 1: the plain reference kernels of ops.c (tests); 0: the fast ones */
    int all_logits;           /* 1: logits for every position even when not recording (benchmarks) */
} Gpt2State;

void gpt2_state_init(Gpt2State *s, const Gpt2Model *m);
void gpt2_state_free(Gpt2State *s);
/* Takes the page faults of a fresh state's first T positions' key/value rows ahead of the pass
 * (src/generate.c): on the calling thread until *stop is set (a helper thread), or with stop NULL on all
 * threads, all of them. The state must not be used elsewhere meanwhile. */
void gpt2_state_warm(Gpt2State *s, int T, const atomic_int *stop);
/* Makes a fresh state's scratch ready, faulted in on all threads, for a first pass of up to T tokens
 * (the passes lay their buffers out in it for their own length; a longer one makes a new block). */
void gpt2_state_ready_scratch(Gpt2State *s, int T);
/* Forgets positions >= n (stepping back or branching); the cache keeps the earlier ones. */
void gpt2_state_truncate(Gpt2State *s, int n);

/* Runs tokens[0..T) at positions n_past..n_past+T. Writes the logits of the last position to
 * logits_out (V) when not NULL. When tr is not NULL, appends T positions to it, with the logits and
 * probs of the last one (in full mode the other positions' are computed when first read: see
 * TRACE_DEFERRED in trace.h). Fails when the context would overflow or a token id is out of range. */
int gpt2_forward(Gpt2State *s, const int *tokens, int T, Trace *tr, float *logits_out, Err *err);
/* The key (which 0) or value (1) row of a layer at a position in the cache: the one owner of its layout
 * (NCTX, L, C). A position's rows of every layer follow each other; one layer's rows are
 * gpt2_kv_stride floats apart. */
float *gpt2_kv_row(const Gpt2State *s, int which, int layer, int pos);
size_t gpt2_kv_stride(const Gpt2State *s);

/* Reruns the n_past positions in the cache, all recorded in tr in one pass (every position's n_keys is
 * n_past, as gen_replay leaves them), from layer first_layer on: its input is the recorded residual
 * stream before that layer (embed for layer 0), and the layers before it, their cache and their
 * recorded tensors are kept. For an intervention changed at first_layer and later only (the viewer's
 * toggle): the result is the full pass's, bit for bit, at a fraction of its cost. */
int gpt2_forward_rerun(Gpt2State *s, int first_layer, Trace *tr, float *logits_out, Err *err);
/* Whether the mean-ablation means were taken over exactly these tokens. */
int gpt2_means_cover(const Gpt2State *s, const int *tokens, int T);

/* Mean ablation's means: runs tokens (T of them, from position 0) through the clean model and keeps the
 * mean over those positions of every part that can be switched off; the state is left empty (n_past 0).
 * Does nothing when the means were already taken over the same tokens. */
int gpt2_collect_means(Gpt2State *s, const int *tokens, int T, Err *err);

/* Logit lens: what the model would predict if it stopped after some layer (ln_f and the output layer
 * applied to a residual-stream vector). The top token (and its probability) for n residual vectors
 * resid (n, C) at once, reading the output matrix once for all of them (the viewer's lens over every
 * layer). */
void gpt2_logit_lens_batch(const Gpt2Model *m, const float *resid, int n, int *ids, float *probs);

#endif
