/* ops.h - the operations of GPT-2's forward pass, one small pure function each, with shapes.
 * The plain versions are the reference; matmul_fast / matmul_nt_fast (ops_fast.c) are the tiled,
 * vectorised, multi-threaded versions used at run time and tested against the plain ones.
 * Dimension key: T tokens, C channels, OC/IC output/input channels, NH heads, HS head size, K keys,
 * V vocabulary. */
#ifndef GPTSTEP_OPS_H
#define GPTSTEP_OPS_H

#include <stddef.h>

/* A weight matrix as the kernels read it: float32 (f), or float16 (h: IEEE half-precision, little-endian,
 * at any byte alignment, as a checkpoint's own bytes used in place from its mapped file). The float16
 * kernels make each half a float32 exactly as they read it and then do what the float32 kernels do, in
 * the same order: the same numbers to the bit as the float32 kernels given the converted matrix (a
 * NaN may come out with another payload). Exactly one of f and h is set. */
typedef struct {
    float *f;
    const unsigned char *h;
} WMat;

/* Rows r0 .. r0+n of W, a matrix of `cols` columns, as float32 into dst (n, cols). */
void wmat_rows(float *dst, WMat W, size_t cols, size_t r0, size_t n);
/* Row r of W as float32: W.f's own row, or the row converted into buf (cols floats). */
const float *wmat_row(WMat W, size_t cols, size_t r, float *buf);

/* out (T,C) = wte[tokens[t]] (V,C) row + wpe[pos0 + t] (NCTX,C) row; tok/pos (T,C) get the parts. */
void embed_forward(float *out, float *tok, float *pos, const float *wte, const float *wpe, const int *tokens,
                   int pos0, int T, int C);

/* out (T,C) = (x - mean) / sqrt(var + eps) * w + b, with the biased variance over C. */
void layernorm_forward(float *out, const float *x, const float *w, const float *b, int T, int C, float eps);

/* Conv1D layout: out (T,OC) = x (T,IC) @ W (IC,OC) + bias (OC); bias may be NULL. */
void matmul_forward(float *out, const float *x, const float *W, const float *bias, int T, int IC, int OC);
void matmul_fast(float *out, const float *x, const float *W, const float *bias, int T, int IC, int OC);
/* The same with W in float16 (WMat's h); each panel of W is made float32 once in the thread's cache. */
void matmul_fast_f16(float *out, const float *x, const unsigned char *W, const float *bias, int T, int IC, int OC);

/* Linear layout (rows of W are outputs): out (T,V) = x (T,C) @ W (V,C)^T. Used for the logits. */
void matmul_nt_forward(float *out, const float *x, const float *W, int T, int C, int V);
void matmul_nt_fast(float *out, const float *x, const float *W, int T, int C, int V);
void matmul_nt_fast_f16(float *out, const float *x, const unsigned char *W, int T, int C, int V);

/* One attention row for one head: scores (K) = q (HS) . keys[j] (stride apart) * scale. */
void attn_scores(float *scores, const float *q, const float *keys, size_t key_stride, int K, int HS, float scale);
/* The same for nq <= 4 queries of one head at once (scores[r] and q[r] for each), vectorised. */
void attn_scores_fast(float *const *scores, const float *const *q, int nq, const float *keys, size_t key_stride,
                      int K, int HS, float scale);
/* Causal mask: masked (K) = scores, with -inf where j > qpos (keys after the query). */
void attn_mask(float *masked, const float *scores, int K, int qpos);
/* out (HS) = sum_j weights[j] * values[j] (stride apart). */
void attn_weighted_sum(float *out, const float *weights, const float *values, size_t value_stride, int K, int HS);
void attn_weighted_sum_fast(float *out, const float *weights, const float *values, size_t value_stride, int K, int HS);

/* Masked self-attention, the way The Illustrated GPT-2 draws it, for T new queries at positions
 * n_past .. n_past+T-1 over K = n_past + T keys, in NH heads of HS channels:
 *   q       (T, NH*HS)  queries, row t at q + t*q_stride; head h is columns [h*HS, (h+1)*HS)
 *   keys    (K, NH*HS)  and values (K, NH*HS), row j at keys + j*kv_stride
 *   scores  (NH*T rows of K)  scores[h*T + t][j] = q_t . k_j / sqrt(HS)
 *   masked  (NH*T rows of K)  the same with -inf where key j comes after query t (j > n_past + t); the
 *                             table may be NULL (no masked rows wanted: gptstep derives them from the
 *                             scores when read, trace.h), the weights are the same bits either way
 *   weights (NH*T rows of K)  softmax of each masked row
 *   out     (T, NH*HS)  out[t][h*HS + i] = sum_j weights[h*T + t][j] * v_j[h*HS + i]
 * The row tables let each row live anywhere (the trace's slots, or scratch). The plain version computes
 * every score; attention_forward_fast (ops_fast.c) computes the raw scores of future keys only when
 * all_scores is set (they are masked away otherwise; their rows then hold -inf there), takes four queries
 * per key load and runs the heads in parallel. */
void attention_forward(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                       size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past, int NH,
                       int HS);
void attention_forward_fast(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                            size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past,
                            int NH, int HS, int all_scores);

/* Numerically stable softmax of n values (subtracts the max; -inf entries get exactly 0). */
void softmax_forward(float *out, const float *x, int n);
/* softmax_forward of attn_mask(scores, K, qpos) without making the masked row: the keys after qpos
 * add nothing to the max or the sum and get weight 0, so the loops stop at qpos; the same bits. */
void softmax_masked(float *out, const float *scores, int K, int qpos);

/* The softmax's parts for one row: *max of x and *sum = sum_j exp(x_j - max) (its normaliser). */
void softmax_parts(const float *x, int n, float *max, double *sum);

/* gelu_new: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), elementwise over n. */
void gelu_forward(float *out, const float *x, size_t n);
/* The same as x / (1 + exp(-2u)), vectorised and split across threads (ops_fast.c); within 1e-6 (1 + |x|)
 * of gelu_forward. Each number's result depends on that number alone, not on n or where it sits. */
void gelu_fast(float *out, const float *x, size_t n);

/* The Euclidean norm sqrt(sum x^2) and the dot product sum a*b of n values, summed in double. */
double vec_norm(const float *x, int n);
double vec_dot(const float *a, const float *b, int n);

/* n float16 (bf16 = 0) or bfloat16 (bf16 = 1) values, little-endian at any alignment, to float32:
 * vectorised and split across threads; bit-identical to common.c's f16_to_f32 / bf16_to_f32. */
void half_to_f32_fast(float *out, const unsigned char *src, size_t n, int bf16);
/* n float16 values to float32 on this thread, with the CPU's own conversion where it has one (F16C,
 * AVX-512): the same numbers as f16_to_f32 but for a signalling NaN, which comes out quiet. */
void f16_row_to_f32(float *out, const unsigned char *src, size_t n);
/* Whether this CPU makes float16 float32 in hardware (F16C or AVX-512): where it does not (the browser's
 * WebAssembly among them), float16 weights are converted at load rather than in every product. */
int f16_hardware(void);
/* For the tests: the float16 conversion the kernels use from now on: 0 the plain one, 1 F16C's (8 at a
 * time), 2 AVX-512's (16 at a time), at most what this CPU has; -1 the best it has (the default, unless
 * GPTSTEP_F16_CONVERT=plain or f16c says otherwise). Returns the one now in use. */
int f16_force_path(int path);

/* out (n) = a + b; out may alias a. */
void residual_forward(float *out, const float *a, const float *b, size_t n);

#endif
