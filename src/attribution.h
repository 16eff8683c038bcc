/* attribution.h - direct logit attribution: how much each part of the model adds to one token's logit
 * at one position, through the residual stream. The final residual stream is the sum of what every part
 * wrote into it: the embedding (token + position), each head's output (its slice of attn.heads times its
 * rows of the output projection), each attention layer's output bias, and each MLP's output. With the
 * final LayerNorm's scale frozen at its value for this position (sigma, the standard deviation of the
 * final residual stream), the logit of token t is linear in those parts:
 *   logit_t = sum over parts o of ((o - mean(o)) / sigma * g_f) . W_U[t]  +  b_f . W_U[t]
 * so the contributions plus the final bias term add up to the logit exactly (to float rounding). */
#ifndef GPTSTEP_ATTRIBUTION_H
#define GPTSTEP_ATTRIBUTION_H

#include "generate.h"
#include "metric.h"

typedef struct {
    int pos, token, minus; /* the metric: token's logit, minus minus's when minus >= 0 (metric.h) */
    double logit;         /* the metric's value as the model computed it (a logit, or a difference of two) */
    double embed;         /* the embedding's contribution (token + position) */
    double *heads;        /* (L * NH) each head's, heads[l * NH + h] */
    double *attn_bias;    /* (L) each attention layer's output bias */
    double *mlp;          /* (L) each MLP's output (its bias included) */
    double final_bias;    /* b_f . W_U[t], the final LayerNorm's bias */
    double sum;           /* all of the above */
} Attribution;

/* Attributes the metric (a token's logit, or the difference of two: linear too, through W_U[t] - W_U[u])
 * at position pos of g's trace (full recording). */
int attribution_compute(Gen *g, int pos, Metric metric, Attribution *a, Err *err);
void attribution_free(Attribution *a);

#endif
