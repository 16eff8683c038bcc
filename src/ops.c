/* ops.c - the reference kernels: plain loops that say exactly what each step of GPT-2 computes.
 * No tiling, no threads, no vector tricks; ops_fast.c holds the fast matmuls tested against these. */
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void embed_forward(float *out, float *tok, float *pos, const float *wte, const float *wpe, const int *tokens,
                   int pos0, int T, int C) {
    for (int t = 0; t < T; t++) {
        const float *te = wte + (size_t)tokens[t] * C; /* the token's row of wte */
        const float *pe = wpe + (size_t)(pos0 + t) * C; /* the position's row of wpe */
        for (int c = 0; c < C; c++) {
            tok[(size_t)t * C + c] = te[c];
            pos[(size_t)t * C + c] = pe[c];
            out[(size_t)t * C + c] = te[c] + pe[c];
        }
    }
}

void layernorm_forward(float *out, const float *x, const float *w, const float *b, int T, int C, float eps) {
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * C;
        float *ot = out + (size_t)t * C;
        /* mean and biased variance, accumulated in double for stability */
        double mean = 0, var = 0;
        for (int c = 0; c < C; c++) mean += xt[c];
        mean /= C;
        for (int c = 0; c < C; c++) var += (xt[c] - mean) * (xt[c] - mean);
        var /= C;
        float rstd = (float)(1.0 / sqrt(var + eps));
        for (int c = 0; c < C; c++) ot[c] = ((float)(xt[c] - mean)) * rstd * w[c] + b[c];
    }
}

void matmul_forward(float *out, const float *x, const float *W, const float *bias, int T, int IC, int OC) {
    for (int t = 0; t < T; t++)
        for (int o = 0; o < OC; o++) {
            float acc = bias ? bias[o] : 0.0f;
            for (int i = 0; i < IC; i++) acc += x[(size_t)t * IC + i] * W[(size_t)i * OC + o];
            out[(size_t)t * OC + o] = acc;
        }
}

void matmul_nt_forward(float *out, const float *x, const float *W, int T, int C, int V) {
    for (int t = 0; t < T; t++)
        for (int v = 0; v < V; v++) {
            float acc = 0.0f;
            for (int c = 0; c < C; c++) acc += x[(size_t)t * C + c] * W[(size_t)v * C + c];
            out[(size_t)t * V + v] = acc;
        }
}

void attn_scores(float *scores, const float *q, const float *keys, size_t key_stride, int K, int HS, float scale) {
    for (int j = 0; j < K; j++) {
        const float *k = keys + (size_t)j * key_stride;
        float dot = 0.0f;
        for (int i = 0; i < HS; i++) dot += q[i] * k[i];
        scores[j] = dot * scale; /* scale = 1/sqrt(HS): 0.125, exact, for HS = 64 */
    }
}

void attn_mask(float *masked, const float *scores, int K, int qpos) {
    for (int j = 0; j < K; j++) masked[j] = j <= qpos ? scores[j] : -INFINITY;
}

void attn_weighted_sum(float *out, const float *weights, const float *values, size_t value_stride, int K, int HS) {
    for (int i = 0; i < HS; i++) out[i] = 0.0f;
    for (int j = 0; j < K; j++) {
        if (weights[j] == 0.0f) continue; /* masked keys contribute nothing */
        const float *v = values + (size_t)j * value_stride;
        for (int i = 0; i < HS; i++) out[i] += weights[j] * v[i];
    }
}

void softmax_masked(float *out, const float *x, int K, int qpos) {
    const int n = qpos < 0 ? 0 : qpos < K ? qpos + 1 : K; /* the keys the query sees */
    float max = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > max) max = x[i];
    double sum = 0;
    for (int i = 0; i < n; i++) {
        out[i] = x[i] == -INFINITY ? 0.0f : expf(x[i] - max);
        sum += out[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) out[i] *= inv;
    for (int i = n; i < K; i++) out[i] = 0.0f * inv; /* what a masked key's 0 times inv is */
}

void softmax_forward(float *out, const float *x, int n) { softmax_masked(out, x, n, n - 1); }

void softmax_parts(const float *x, int n, float *max, double *sum) {
    float m = -INFINITY;
    for (int i = 0; i < n; i++)
        if (x[i] > m) m = x[i];
    double z = 0;
    for (int i = 0; i < n; i++)
        if (x[i] != -INFINITY) z += exp((double)x[i] - m);
    *max = m;
    *sum = z;
}

void gelu_forward(float *out, const float *x, size_t n) {
    const float s = 0.7978845608028654f; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        out[i] = 0.5f * v * (1.0f + tanhf(s * (v + 0.044715f * v * v * v)));
    }
}

void residual_forward(float *out, const float *a, const float *b, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

double vec_norm(const float *x, int n) { return sqrt(vec_dot(x, x, n)); }

double vec_dot(const float *a, const float *b, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

void attention_forward(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                       size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past, int NH,
                       int HS) {
    const int K = n_past + T, C = NH * HS;
    const float scale = 1.0f / sqrtf((float)HS);
    float *own = masked ? NULL : malloc(sizeof(float) * (size_t)(K > 0 ? K : 1)); /* a masked row of its own when none is wanted */
    if (!masked && !own) abort();
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < T; t++) {
            const int row = h * T + t, qpos = n_past + t;
            const float *qt = q + (size_t)t * q_stride + (size_t)h * HS; /* (HS) this head's query */
            float *mk = masked ? masked[row] : own;
            /* scores (K): how well each key matches the query */
            attn_scores(scores[row], qt, keys + (size_t)h * HS, kv_stride, K, HS, scale);
            /* the mask (K): keys after the query cannot be seen */
            attn_mask(mk, scores[row], K, qpos);
            /* weights (K): softmax of the masked scores, adding up to 1 */
            softmax_forward(weights[row], mk, K);
            /* out (HS): the weighted sum of the values */
            attn_weighted_sum(out + (size_t)t * C + (size_t)h * HS, weights[row], values + (size_t)h * HS, kv_stride,
                              qpos + 1, HS);
        }
    free(own);
}
