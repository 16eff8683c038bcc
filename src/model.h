/* model.h - a GPT-2 model in memory: its configuration and its weights (read-only: some are the mapped
 * checkpoint itself). Biases and norms are float32; the matrices are WMat (ops.h): float32, or float16
 * used in place from a float16 checkpoint and made float32 by the kernels as they read it.
 * Loading reads a Hugging Face checkpoint directory (model.safetensors, optional config.json).
 * The forward pass lives in forward.h; this file only holds and checks the parameters.
 *
 * Dimension key used across src/: T tokens, C channels (n_embd), NH heads, HS head size (C/NH),
 * V vocabulary, L layers, NCTX context length (n_positions). */
#ifndef GPTSTEP_MODEL_H
#define GPTSTEP_MODEL_H

#include "common.h"
#include "ops.h"

typedef struct {
    int n_layer;     /* L */
    int n_head;      /* NH */
    int n_embd;      /* C */
    int n_vocab;     /* V */
    int n_ctx;       /* NCTX */
    int n_inner;     /* 4C unless config.json says otherwise */
    float ln_eps;    /* 1e-5 */
} Gpt2Config;

typedef struct {
    float *ln_1_w, *ln_1_b;       /* (C) */
    WMat attn_w;                  /* c_attn, Conv1D layout (C, 3C) */
    float *attn_b;                /* (3C) */
    WMat attn_proj_w;             /* (C, C) */
    float *attn_proj_b;           /* (C) */
    float *ln_2_w, *ln_2_b;       /* (C) */
    WMat fc_w;                    /* mlp.c_fc (C, 4C) */
    float *fc_b;                  /* (4C) */
    WMat fc_proj_w;               /* mlp.c_proj (4C, C) */
    float *fc_proj_b;             /* (C) */
} Gpt2Layer;

typedef struct {
    WMat wte;        /* (V, C) token embeddings, also the output layer (tied) */
    WMat wpe;        /* (NCTX, C) position embeddings */
    Gpt2Layer *h;    /* (L) blocks */
    float *ln_f_w, *ln_f_b; /* (C) */
    WMat lm_head;    /* (V, C) only when the checkpoint has lm_head.weight, else both NULL (tied to wte) */
} Gpt2Weights;

typedef struct {
    char *dir;       /* the directory it was loaded from */
    char *name;      /* a short display name (directory's last component) */
    Gpt2Config cfg;
    Gpt2Weights w;
    size_t n_params; /* parameters loaded (tied output counted once) */
    char dtype[16];  /* storage dtype of the checkpoint ("F32", "F16", "BF16", or "mixed") */
    int half;        /* matrices used in place as float16 */
    /* where the loaded weights live: converted ones in one block (bigmem.h), float32 and float16 ones in
     * place in the mapped file, kept mapped while the model lives (both NULL for a model built by hand) */
    void *arena;
    size_t arena_bytes;
    const unsigned char *map;
    size_t map_len;
} Gpt2Model;

/* Loads MODEL_DIR/model.safetensors (and config.json when present). Sizes missing from config.json are
 * inferred from tensor shapes; every tensor's shape is checked, with got-vs-expected in the message. */
int gpt2_load(Gpt2Model *m, const char *model_dir, Err *err);

/* The same, reporting progress (fraction of the checkpoint's bytes converted so far, 0..1) to
 * progress(ctx, fraction) after each tensor; progress may be NULL. When it returns nonzero the load
 * stops there and fails with "loading stopped" (a window closed while its model loads). */
typedef int (*LoadProgress)(void *ctx, double fraction);
int gpt2_load_progress(Gpt2Model *m, const char *model_dir, LoadProgress progress, void *ctx, Err *err);
void gpt2_free(Gpt2Model *m);

/* The output (unembedding) matrix: lm_head if present, else wte. (V, C) */
WMat gpt2_output_matrix(const Gpt2Model *m);

/* Where the weights live, in a few words ("float32 used in place", "float16 used in place", "converted
 * to float32", "partly converted"), as `generate --verbose` says it. */
const char *gpt2_weights_where(const Gpt2Model *m);

/* Resolves a MODEL argument: an existing directory, or a name under the models/ folder (looked up in
 * $GPTSTEP_MODELS, then beside the executable, then ./models). NULL or "" means the default model.
 * Returns a malloc'd path, or NULL with an error listing where it looked. */
char *gpt2_resolve_model(const char *arg, Err *err);

#define GPT2_DEFAULT_MODEL "storybook"

#endif
