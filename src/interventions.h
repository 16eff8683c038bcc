/* interventions.h - the parts of the model a run switches off: what they are, how a person names them
 * ("3.1", "3.mlp.100", "3.attn", "3.mlp", "pos"), how a list of them is written into a trace and onto a
 * screen, which part covers which, and where each part's mean sits in the block of means that mean
 * ablation uses. The forward pass (forward.c) applies them; this file owns everything else about them. */
#ifndef GPTSTEP_INTERVENTIONS_H
#define GPTSTEP_INTERVENTIONS_H

#include "common.h"
#include "model.h"

/* Interventions: parts of the model switched off at every position, to see whether the prediction
 * depends on them: set to zero (zero ablation), or to their mean over the positions of the text the run
 * started from, in a clean run (mean ablation: the part still adds its average, but no longer anything
 * that depends on the token or its context). Layers, heads and neurons count from 0, as the tensor names
 * do. */
typedef enum {
    ABL_HEAD,   /* layer.head: that head's slice of h.L.attn.heads (before the output projection) */
    ABL_NEURON, /* layer.mlp.N: column N of h.L.mlp.gelu (before the MLP's output projection) */
    ABL_ATTN,   /* layer.attn: the attention sublayer's output h.L.attn.proj (bias included) */
    ABL_MLP,    /* layer.mlp: the MLP sublayer's output h.L.mlp.proj (bias included) */
    ABL_POS,    /* pos: the position embedding */
} AblationKind;

typedef struct {
    AblationKind kind;
    int layer, index;
} Ablation;

#define GPT2_MAX_ABLATIONS 64

typedef enum { ABLATE_ZERO, ABLATE_MEAN } AblateMode;

typedef struct {
    int n;
    AblateMode mode;
    Ablation a[GPT2_MAX_ABLATIONS];
} Interventions;

/* "zero" or "mean" into *out; -1 with a one-line message otherwise. */
int ablate_mode_parse(const char *word, AblateMode *out, Err *err);

/* Parses one spec ("3.1", "3.mlp.100", "3.attn", "3.mlp", "pos") against cfg. Returns 0, or -1 with a
 * one-line message naming the spec and the valid range. */
int ablation_parse(const char *spec, const Gpt2Config *cfg, Ablation *out, Err *err);
/* Writes a spec back ("3.1"), and a list ("3.1, 3.mlp.100 (zero)") for traces and screens. */
void ablation_name(const Ablation *a, char *buf, size_t cap);
void interventions_text(const Interventions *iv, char *buf, size_t cap);
/* Whether a part is switched off: the one place that says what covers what (pos: the position embedding;
 * L.attn and L.mlp: the whole sublayer of layer L; a head or a neuron: that one). */
int interventions_has(const Interventions *iv, AblationKind kind, int layer, int index);
/* The index of exactly this ablation in iv, or -1. */
int interventions_find(const Interventions *iv, const Ablation *a);

/* Mean ablation keeps, per layer, the mean of the heads (C), attn.proj (C), mlp.gelu (n_inner) and
 * mlp.proj (C), then the position embedding's (C) after the last layer: the size of that block in floats,
 * and where one part's mean starts in it. */
size_t interventions_means_size(const Gpt2Config *cfg);
size_t interventions_mean_offset(const Gpt2Config *cfg, AblationKind kind, int layer);

#endif
