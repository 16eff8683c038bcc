/* trace.h - the record of a generation: every intermediate tensor of every position, under stable
 * dotted names (docs/trace.md), plus each step's chosen token and sampler settings.
 * The forward pass writes it; the CLI, the tests and the viewer read it. Saves to and loads from a
 * documented binary file, bit-exactly; any tensor exports to NumPy .npy. */
#ifndef GPTSTEP_TRACE_H
#define GPTSTEP_TRACE_H

#include <stdatomic.h>
#include <stdint.h>

#include "common.h"
#include "model.h"
#include "sampler.h" /* SamplerSettings: how each step chose its token */

typedef enum { TRACE_OFF = 0, TRACE_ATTN = 1, TRACE_FULL = 2 } TraceMode;

/* Tensor kinds. Per-layer kinds exist once per layer ("h.L.<kind>"). */
typedef enum {
    TK_TOK_EMB, TK_POS_EMB, TK_EMBED,                         /* before the blocks */
    TK_LN_1, TK_Q, TK_K, TK_V, TK_SCORES, TK_MASKED, TK_WEIGHTS, TK_HEADS, TK_ATTN_PROJ,
    TK_RESID_MID, TK_LN_2, TK_FC, TK_GELU, TK_MLP_PROJ, TK_RESID_OUT, /* per layer */
    TK_LN_F, TK_LOGITS, TK_PROBS,                             /* after the blocks */
    TK_COUNT
} TensorKind;

#define TK_FIRST_LAYER TK_LN_1
#define TK_LAST_LAYER TK_RESID_OUT
#define TK_PER_LAYER (TK_LAST_LAYER - TK_FIRST_LAYER + 1)

/* How the sampler chose a token (recorded per step). */
/* Room for any list of interventions the forward pass takes (forward.h: at most 64 parts of at most 32
 * characters each, and the mode): the list is never cut short, in memory or in a trace file. */
#define TRACE_INTERVENTIONS_MAX (64 * 32 + 16)


typedef struct {
    int pos0, n_pos;     /* positions computed in this step */
    int chosen;          /* token chosen after it, or -1 */
    float chosen_prob;   /* its probability under the model (temperature 1) */
    SamplerSettings sampler;
} TraceStep;

typedef struct {
    int token;     /* input token at this position */
    int step;      /* the step that computed it */
    int n_keys;    /* K: keys in this position's attention rows (future ones are masked) */
    size_t n_floats;
    float *data;   /* all recorded tensors of this position */
    int64_t *off;  /* per tensor id: offset into data, -1 when not recorded, TRACE_DEFERRED or TRACE_DERIVED (below) */
    float *head;   /* (2, V) logits then probs of a deferred position, once computed; else NULL */
    float **derived; /* per layer, TRACE_N_DERIVED each (masked scores, attention weights, ln_1,
                      * resid_mid, ln_2, mlp.gelu, scores), once derived (TRACE_DERIVED); else NULL */
    float *scores;   /* a prompt position's raw scores up to itself, when its whole rows are derived
                      * (TRACE_DERIVED): per layer, per head, position + 1 of them, right after data; else NULL */
    size_t n_scores; /* floats there */
} TracePos;

/* Offset of a tensor computed on first read. In full recording the logits and probs of a prompt
 * position other than the last (what the model expected there) come from that position's recorded
 * ln_f through the output layer, when something reads them: the same kernel on the same input gives
 * the same bits as computing them during the pass, at a fraction of the prefill's time and memory.
 * The last position of every step, whose logits pick the next token, is always computed at once. */
#define TRACE_DEFERRED (-2)

/* Offset of a tensor derived on first read from others of the same position, with the function the
 * pass computed it with, so the same bits: h.L.attn.masked is h.L.attn.scores with the keys after the
 * position set to -inf (attn_mask), h.L.attn.weights the softmax of each head's scores up to the
 * position, 0 after it (softmax_masked, the pass's own softmax), so recording keeps the scores alone
 * (on GPT-2 small's shapes, 27% less memory for a 256-token prompt than keeping all three, 48% at 1,024
 * tokens). A prompt position in full recording in memory keeps only its scores up to itself
 * (TracePos.scores: all the pass needs): its h.L.attn.scores are those followed by the later keys' raw
 * scores, q of the position against k of each later one with the pass's kernel (attn_scores_fast).
 * In full recording h.L.ln_1 and h.L.ln_2 are the LayerNorms of the block's input and of
 * h.L.resid_mid (layernorm_forward, with the model's weights: TraceLnFn), h.L.resid_mid the block's
 * input plus h.L.attn.proj (residual_forward), h.L.mlp.gelu the pass's gelu of h.L.mlp.fc (Trace.gelu)
 * with the neurons the pass switched off set back to what it wrote there (Trace.neuron_off). A trace
 * file holds them like any recorded tensor. */
#define TRACE_DERIVED (-3)
#define TRACE_N_DERIVED 7 /* derived tensors per layer */

/* Computes logits and probs (n, V) from ln_f (n, C): the model's output layer and softmax. */
typedef void (*TraceHeadFn)(const void *ctx, const float *ln_f, int n, float *logits, float *probs);
/* Computes one row of layer `layer`'s ln_1 (which 1) or ln_2 (which 2) from its input row (C). */
typedef void (*TraceLnFn)(const void *ctx, int layer, int which, const float *in, float *out);

/* A neuron of h.L.mlp.gelu that the pass switched off (an ablation), and the value it wrote there in
 * every row (0, or the neuron's mean): a derived gelu row gets it back. */
typedef struct {
    int layer, index;
    float value;
} TraceNeuronOff;
#define TRACE_NEURONS_OFF_MAX 64 /* as many as the forward pass switches off at once (interventions.h) */

/* Position data lives in big chunks used like a stack: positions are appended in order and only ever
 * removed from the end, so truncating rolls the chunk back instead of freeing many small blocks. */
typedef struct TraceChunk {
    struct TraceChunk *prev;
    size_t cap, used; /* in floats */
    float *base;
    int64_t file_off; /* a chunk of the spill file mapped here (-1: memory of its own) */
} TraceChunk;

typedef struct {
    Gpt2Config cfg;
    char model[256];
    char interventions[TRACE_INTERVENTIONS_MAX]; /* what the run switched off ("3.1, 3.mlp (zero)"; "" = nothing) */
    TraceChunk *chunk; /* the newest chunk */
    int spilled;       /* 1: new chunks live in the (unlinked) file spill_fd, mapped (trace_spill) */
    int spill_fd;
    int64_t spill_size; /* bytes of it in use */
    TraceMode mode;
    int n_ids;     /* number of tensor ids: 3 + L * TK_PER_LAYER + 3 */
    TracePos *pos;
    int n_pos, cap_pos;
    TraceStep *steps;
    int n_steps, cap_steps;
    TraceHeadFn head;     /* set by the forward pass: computes deferred logits and probs */
    TraceLnFn ln;         /* ... and derived LayerNorm rows, with the same state */
    const void *head_ctx; /* its forward-pass state (Gpt2State), which must outlive the first reads of
                           * deferred and derived tensors (a trace file's reads need none) */
    void (*gelu)(float *out, const float *x, size_t n); /* the pass's gelu kernel, for derived mlp.gelu rows */
    TraceNeuronOff neuron_off[TRACE_NEURONS_OFF_MAX];  /* what the pass recorded last wrote into mlp.gelu */
    int n_neuron_off;
    int whole_rows; /* 1: positions added keep whole score rows (set by a pass with the plain kernels, which
                     * compute every score); 0: full recording in memory keeps a prompt position's scores up
                     * to itself (TracePos.scores) */
    float **keys;   /* for reading later keys' scores: per layer, attn.k of positions 0..keys_n-1 side by
                     * side, gathered on first need; NULL when none */
    int keys_n;
} Trace;

void trace_init(Trace *tr, const Gpt2Config *cfg, const char *model_name, TraceMode mode);
void trace_free(Trace *tr);
/* Drops positions >= n_pos and the steps that computed them (for stepping back or branching). */
void trace_truncate(Trace *tr, int n_pos);

/* Tensor ids and names: "tok_emb", "h.3.attn.scores", "probs"... */
int trace_id(const Trace *tr, TensorKind kind, int layer);
TensorKind trace_kind_of(const Trace *tr, int id, int *layer);
int trace_id_by_name(const Trace *tr, const char *name); /* -1 if unknown */
void trace_name(const Trace *tr, int id, char *buf, size_t cap);
const char *trace_kind_name(TensorKind kind);

/* Shape of tensor id at position p: returns ndim (1 or 2) and fills shape. */
int trace_shape(const Trace *tr, int id, int p, int64_t shape[2]);
/* The recorded data of tensor id at position p, or NULL if it was not recorded. A deferred or derived
 * tensor is computed on this first read and kept (so reads of one trace must not run on two threads at
 * once). */
const float *trace_get(const Trace *tr, int id, int p);
/* Forgets what was computed on read at position p (its data is about to be rewritten: a rerun). */
void trace_forget_computed(const Trace *tr, TracePos *p);

/* Computes every deferred tensor (the prompt positions' logits and probs) in one batch, and keeps them. */
void trace_materialize(Trace *tr);

/* Floats the position at index pos records with n_keys keys (has_logits: its logits and probs too),
 * its scores up to itself included (TracePos.scores). */
size_t trace_position_floats(const Trace *tr, int pos, int n_keys, int has_logits);

/* Makes and faults in the memory a fresh trace's first n_pos positions will be written into, ahead of
 * the pass that records them: on this thread until *stop is set (a helper thread), or with stop NULL on
 * all threads, all of it. Nothing when they would need more than max_bytes. */
void trace_warm(const Trace *tr, int n_pos, size_t max_bytes, const atomic_int *stop);

/* A trace too big for memory lives in a file instead: from now on its new chunks are pages of an
 * unlinked file in TMPDIR (or /var/tmp), mapped, and trace_release() lets the kernel write them out of
 * the process's resident memory; every tensor stays readable through the mapping (read back from the
 * page cache or the disk when touched). Returns -1 with a message when no file can be made. */
int trace_spill(Trace *tr, Err *err);
/* A copy of src, every position's data included (into a file as well when src is in one). */
int trace_copy(Trace *dst, const Trace *src, Err *err);
/* Drops the spilled chunks' pages from resident memory (their data stays in the file). */
void trace_release(Trace *tr);

/* Used by the forward pass: the neurons of layer `layer`'s mlp.gelu it switched off in the positions it
 * is recording, and the value each got (they replace the layer's earlier ones: every recorded position
 * of a trace ran with the same ones, and a rerun from a layer on reruns them all). */
void trace_set_neurons_off(Trace *tr, int layer, const TraceNeuronOff *off, int n);
/* Used by the forward pass: appends a position and returns a pointer to write tensor id into. */
/* has_logits: 1 records the logits and probs now; 0 defers them in full mode (none otherwise). */
TracePos *trace_add_pos(Trace *tr, int token, int n_keys, int has_logits);
float *trace_slot(Trace *tr, TracePos *p, int id);
TraceStep *trace_begin_step(Trace *tr, int pos0, int n_pos);

/* Binary file (docs/trace.md): magic "GPTSTEPT", version, sizes, steps, positions. Saving writes every
 * tensor, those computed on read too (without keeping the deferred logits or the derived tensors it had
 * to make). */
int trace_save(const Trace *tr, const char *path, Err *err);
int trace_load(Trace *tr, const char *path, Err *err);
/* The same, reading less: want_id -1 reads the index alone (steps, tokens, which tensors each position
 * holds; trace_get returns NULL); want_id >= 0 also reads that one tensor at position want_pos (and no
 * other floats). `gptstep dump` reads one tensor of a many-GB trace this way. */
int trace_load_part(Trace *tr, const char *path, int want_id, int want_pos, Err *err);
/* Whether tensor id was recorded at position p (its floats need not be loaded). */
int trace_recorded(const Trace *tr, int id, int p);

/* Writes an array as a NumPy .npy file (float32, little-endian, C order). */
int npy_save(const char *path, const float *data, int ndim, const int64_t *shape, Err *err);

const char *trace_mode_name(TraceMode m);

#endif
