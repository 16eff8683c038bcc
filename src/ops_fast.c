/* ops_fast.c - the two matmuls that dominate GPT-2's run time, tiled for registers and caches,
 * vectorised with GCC vector types (compiled for AVX-512, AVX2 and plain x86-64, picked at load time)
 * and split across threads with OpenMP. tests/test_ops.c checks them against ops.c. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "ops.h"

typedef float v16 __attribute__((vector_size(64)));

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__) /* resolvers run before a sanitizer starts */
#define MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define MULTIVERSION
#endif

#pragma GCC diagnostic ignored "-Wpsabi" /* v16 never crosses a non-inlined call */

static inline __attribute__((always_inline)) v16 load16(const float *p) {
    v16 v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store16(float *p, v16 v) { memcpy(p, &v, sizeof v); }

#define TR 6   /* rows of x per tile in matmul_fast: 6 x 4 accumulators + 4 weights fit 32 vector registers */
#define TRN 4  /* rows of x per tile in matmul_nt_fast */
#define OB 64  /* output columns per tile: 4 vectors of 16 */
#define KB 512 /* rows of W (inputs) per block in matmul_fast, when there are more than 2 KB */

/* One (TR x OB) tile of out = x @ W + b over n of W's rows (W and x start at the first of them; W's rows
 * are ws floats apart, its tile's columns start at wo; x's rows are xs apart), with the accumulators in
 * registers across all n: they start from the bias (bias not NULL), from what out holds (more: the sums
 * of an earlier block of rows) or from zero. The same additions in the same order whichever way the rows
 * are blocked, so the sums are the same to the bit. While it computes, rows [p0, p1) of the panel the
 * thread needs next (pf: rows pstride bytes apart, plines cache lines each) are prefetched, so that the
 * next panel's first tile finds them in cache rather than waiting for memory. */
static inline __attribute__((always_inline)) void tile_rows(float *out, const float *x, const float *W, size_t ws, int wo,
                                                            const float *bias, int more, int rows, int n, int xs,
                                                            int OC, int o0, const char *pf, size_t pstride, int plines,
                                                            int p0, int p1) {
    v16 acc[TR][OB / 16];
    for (int r = 0; r < TR; r++)
        for (int k = 0; k < OB / 16; k++)
            acc[r][k] = bias ? load16(bias + o0 + 16 * k) : more && r < rows ? load16(out + (size_t)r * OC + o0 + 16 * k) : (v16){0};
    for (int i = 0; i < n; i++) {
        const float *w = W + (size_t)i * ws + wo;
        if (i >= p0 && i < p1) {
            const char *q = pf + (size_t)i * pstride;
            for (int j = 0; j < plines; j++) __builtin_prefetch(q + 64 * j);
        }
        v16 w0 = load16(w), w1 = load16(w + 16), w2 = load16(w + 32), w3 = load16(w + 48);
        for (int r = 0; r < TR; r++) {
            if (r >= rows) break;
            float xv = x[(size_t)r * xs + i];
            acc[r][0] += xv * w0;
            acc[r][1] += xv * w1;
            acc[r][2] += xv * w2;
            acc[r][3] += xv * w3;
        }
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < OB / 16; k++) store16(out + (size_t)r * OC + o0 + 16 * k, acc[r][k]);
}

/* A tile of rows rows (1..TR), with the row count a constant in each call so that acc stays in
 * registers. */
static inline __attribute__((always_inline)) void tile_any(float *out, const float *x, const float *W, size_t ws, int wo,
                                                           const float *bias, int more, int rows, int n, int xs, int OC,
                                                           int o0, const char *pf, size_t pstride, int plines, int p0,
                                                           int p1) {
    switch (rows) {
    case 6: tile_rows(out, x, W, ws, wo, bias, more, 6, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    case 5: tile_rows(out, x, W, ws, wo, bias, more, 5, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    case 4: tile_rows(out, x, W, ws, wo, bias, more, 4, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    case 3: tile_rows(out, x, W, ws, wo, bias, more, 3, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    case 2: tile_rows(out, x, W, ws, wo, bias, more, 2, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    default: tile_rows(out, x, W, ws, wo, bias, more, 1, n, xs, OC, o0, pf, pstride, plines, p0, p1); break;
    }
}

/* float16 to float32 without branches (the vectoriser turns the selects into blends): shift the exponent
 * and mantissa into place and rebias; infinities and NaNs get the larger rebias, subnormals are
 * renormalised by a float subtraction. Bit-identical to f16_to_f32 (common.c) for all 65,536 values. */
static inline uint32_t half_bits(uint16_t h) {
    const uint32_t shifted_exp = 0x7c00u << 13;
    uint32_t o = (uint32_t)(h & 0x7fff) << 13, exp = shifted_exp & o;
    o += (uint32_t)(127 - 15) << 23;
    uint32_t inf_nan = o + ((uint32_t)(128 - 16) << 23);
    float f, magic;
    uint32_t sub = o + (1u << 23), mbits = 113u << 23, fb;
    memcpy(&f, &sub, 4);
    memcpy(&magic, &mbits, 4);
    f -= magic;
    memcpy(&fb, &f, 4);
    o = exp == shifted_exp ? inf_nan : exp == 0 ? fb : o;
    return o | (uint32_t)(h & 0x8000) << 16;
}

MULTIVERSION static void f16_chunk(float *out, const unsigned char *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2); /* the data may be unaligned */
        uint32_t b = half_bits(h);
        memcpy(out + i, &b, 4);
    }
}

/* The CPU's own float16 conversion (vcvtph2ps), 16 or 8 at a time, for the float16 kernels: the weights
 * are made float32 as they are read, so the conversion sits in every matrix product's path. */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(__EMSCRIPTEN__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_F16C_PATHS 1
__attribute__((target("avx512f"))) static void f16_avx512(float *out, const unsigned char *src, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + 2 * i))));
    if (i < n) f16_chunk(out + i, src + 2 * i, n - i);
}
__attribute__((target("avx,f16c"))) static void f16_f16c(float *out, const unsigned char *src, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
    if (i < n) f16_chunk(out + i, src + 2 * i, n - i);
}
/* The rows side by side, 32 values of each in turn (several streams in flight read memory faster than
 * one), each line prefetched a group of rows ahead: the rows the caller takes next, when the rows are
 * a contiguous block of W (matvec_rows_any measured 42 against 24 GB/s on XL's MLP projection). One
 * for each conversion above (ONE, inlined: same target). */
#define F16_ROWS(NAME, TARGET, ONE)                                                                          \
    __attribute__((target(TARGET))) static void NAME(float *out, const unsigned char *src, size_t sstride,   \
                                                     int rows, size_t n) {                                   \
        size_t i = 0;                                                                                        \
        for (; i + 32 <= n; i += 32)                                                                         \
            for (int r = 0; r < rows; r++) {                                                                 \
                const unsigned char *q = src + (size_t)r * sstride + 2 * i;                                  \
                __builtin_prefetch(q + (size_t)rows * sstride);                                              \
                ONE(out + (size_t)r * n + i, q, 32);                                                         \
            }                                                                                                \
        if (i < n)                                                                                           \
            for (int r = 0; r < rows; r++) ONE(out + (size_t)r * n + i, src + (size_t)r * sstride + 2 * i, n - i); \
    }
F16_ROWS(f16_rows_avx512, "avx512f", f16_avx512)
F16_ROWS(f16_rows_f16c, "avx,f16c", f16_f16c)
#endif

/* Which conversion this CPU has: 2 AVX-512, 1 F16C (with AVX), 0 neither. */
static int f16_cpu(void) {
#ifdef HAVE_F16C_PATHS
    static int have = -1; /* a benign race: every thread finds the same */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        unsigned a, b, c = 0, d;
        int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C); /* (clang's __builtin_cpu_supports lacks "f16c") */
        h = __builtin_cpu_supports("avx512f") ? 2 : f16c && __builtin_cpu_supports("avx") ? 1 : 0;
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
#else
    return 0;
#endif
}

int f16_hardware(void) { return f16_cpu() > 0; }

/* The conversion the kernels use: the best this CPU has, or the one f16_force_path set (the tests run
 * each), or GPTSTEP_F16_CONVERT=plain / f16c (which the tests run end to end). */
static int forced = -1;

static int f16_path(void) {
    static int from_env = -2; /* -2: not read yet, -1: not set */
    int f = __atomic_load_n(&forced, __ATOMIC_RELAXED);
    if (f >= 0) return f;
    int e = __atomic_load_n(&from_env, __ATOMIC_RELAXED);
    if (e == -2) {
        const char *v = getenv("GPTSTEP_F16_CONVERT");
        e = !v ? -1 : !strcmp(v, "plain") ? 0 : !strcmp(v, "f16c") ? 1 : -1;
        if (e > f16_cpu()) e = f16_cpu();
        __atomic_store_n(&from_env, e, __ATOMIC_RELAXED);
    }
    return e >= 0 ? e : f16_cpu();
}

int f16_force_path(int path) {
    __atomic_store_n(&forced, path < 0 ? -1 : path < f16_cpu() ? path : f16_cpu(), __ATOMIC_RELAXED);
    return f16_path();
}

void f16_row_to_f32(float *out, const unsigned char *src, size_t n) {
    switch (f16_path()) {
#ifdef HAVE_F16C_PATHS
    case 2: f16_avx512(out, src, n); break;
    case 1: f16_f16c(out, src, n); break;
#endif
    default: f16_chunk(out, src, n); break;
    }
}

/* rows rows of n halves (src rows sstride bytes apart) into out (rows n floats apart). */
static void f16_rows_to_f32(float *out, const unsigned char *src, size_t sstride, int rows, size_t n) {
    switch (f16_path()) {
#ifdef HAVE_F16C_PATHS
    case 2: f16_rows_avx512(out, src, sstride, rows, n); break;
    case 1: f16_rows_f16c(out, src, sstride, rows, n); break;
#endif
    default:
        for (int r = 0; r < rows; r++) f16_chunk(out + (size_t)r * n, src + (size_t)r * sstride, n);
        break;
    }
}

void wmat_rows(float *dst, WMat W, size_t cols, size_t r0, size_t n) {
    if (W.f) memcpy(dst, W.f + r0 * cols, sizeof(float) * cols * n);
    else f16_row_to_f32(dst, W.h + 2 * r0 * cols, cols * n);
}

const float *wmat_row(WMat W, size_t cols, size_t r, float *buf) {
    if (W.f) return W.f + r * cols;
    f16_row_to_f32(buf, W.h + 2 * r * cols, cols);
    return buf;
}

#define MV_CHUNK 128 /* float16 columns of four rows made float32 at a time by matvec_rows_any: 2 KB, and
                      * the sums of one chunk overlap the next chunk's reads (whole rows at a time ran
                      * at two thirds of the speed) */
/* acc[o] += (x0 w0[o] + x1 w1[o]) + (x2 w2[o] + x3 w3[o]) for o in [0, n): four rows of W into the
 * sums, 16 columns at a time, then one by one. Both matvec paths use it, so that float16 and float32
 * weights are added in the same order with the same instructions. */
static inline __attribute__((always_inline)) void rows4(float *acc, const float *w0, const float *w1, const float *w2,
                                                        const float *w3, float x0, float x1, float x2, float x3, int n) {
    int o = 0;
    for (; o + 16 <= n; o += 16)
        store16(acc + o, load16(acc + o) + (x0 * load16(w0 + o) + x1 * load16(w1 + o)) + (x2 * load16(w2 + o) + x3 * load16(w3 + o)));
    for (; o < n; o++) acc[o] += (x0 * w0[o] + x1 * w1[o]) + (x2 * w2[o] + x3 * w3[o]);
}

static inline __attribute__((always_inline)) void row1(float *acc, const float *w, float xi, int n) {
    for (int o = 0; o < n; o++) acc[o] += xi * w[o];
}

/* One decoded token (T = 1): out = x @ W + b reads every weight once and is bound by memory. Splitting
 * the output columns among the threads (the tiled path below) makes each read 256-byte pieces of
 * every row of W; here the threads split W's rows instead, so each streams one contiguous block, four
 * rows at a time, and their partial sums are added at the end. On the project's machine this read
 * 25 GB/s against 17 GB/s for the tiled path (the decode profile in docs/performance.md). W is float32
 * (Wf) or float16 (Wh): four float16 rows are made float32 MV_CHUNK columns at a time into the thread's
 * block (in its cache), then summed by the same rows4 as float32 rows (the chunks start at multiples of
 * 16, so each column gets the same instructions either way). */
MULTIVERSION static void matvec_rows_any(float *out, const float *x, const float *Wf, const unsigned char *Wh,
                                         const float *bias, int IC, int OC) {
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    const size_t stride = ((size_t)OC + 15) / 16 * 16;
    float *part = malloc(sizeof(float) * stride * (size_t)nt);
    if (!part) abort();
#pragma omp parallel num_threads(nt)
    {
        int t = 0, n = 1;
#ifdef _OPENMP
        t = omp_get_thread_num(), n = omp_get_num_threads();
#endif
        const int i0 = (int)((long)IC * t / n), i1 = (int)((long)IC * (t + 1) / n);
        float *acc = part + (size_t)t * stride;
        /* four rows' chunk, or one whole row (the rows left over after the groups of four) */
        float *buf = Wh ? aligned_alloc(64, sizeof(float) * (stride > 4 * MV_CHUNK ? stride : 4 * MV_CHUNK)) : NULL;
        if (Wh && !buf) abort();
        memset(acc, 0, sizeof(float) * stride);
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
            const float x0 = x[i], x1 = x[i + 1], x2 = x[i + 2], x3 = x[i + 3];
            if (Wf) {
                const float *w0 = Wf + (size_t)i * OC;
                rows4(acc, w0, w0 + OC, w0 + 2 * (size_t)OC, w0 + 3 * (size_t)OC, x0, x1, x2, x3, OC);
            } else
                for (int c0 = 0; c0 < OC; c0 += MV_CHUNK) {
                    const int m = OC - c0 < MV_CHUNK ? OC - c0 : MV_CHUNK;
                    f16_rows_to_f32(buf, Wh + 2 * ((size_t)i * OC + c0), 2 * (size_t)OC, 4, (size_t)m);
                    rows4(acc + c0, buf, buf + m, buf + 2 * m, buf + 3 * m, x0, x1, x2, x3, m);
                }
        }
        for (; i < i1; i++) {
            if (Wf) row1(acc, Wf + (size_t)i * OC, x[i], OC);
            else {
                f16_row_to_f32(buf, Wh + 2 * (size_t)i * OC, (size_t)OC);
                row1(acc, buf, x[i], OC);
            }
        }
        free(buf);
    }
    for (int o = 0; o < OC; o++) {
        float sum = bias ? bias[o] : 0.0f;
        for (int t = 0; t < nt; t++) sum += part[(size_t)t * stride + o];
        out[o] = sum;
    }
    free(part);
}

/* x @ W + b for T rows (matmul_fast's contract), W float32 (Wf) or float16 (Wh). */
MULTIVERSION static void matmul_any(float *out, const float *x, const float *Wf, const unsigned char *Wh,
                                    const float *bias, int T, int IC, int OC) {
    if (T == 1 && (double)IC * OC > 2e5) {
        matvec_rows_any(out, x, Wf, Wh, bias, IC, OC);
        return;
    }
    const int n_full = OC / OB, ntiles = (T + TR - 1) / TR;
    /* Inputs in blocks of KB rows of W when there are many (GPT-2 small's MLP projection has 3072): a
     * block's panel of W and the x columns it multiplies stay in the core's cache together (measured
     * on GPT-2 small's shapes, 64 tokens: 340 against 260 GFLOP/s for that matmul). */
    const int kb = IC > 2 * KB ? KB : IC;
    const size_t esz = Wf ? 4 : 2; /* bytes per weight in memory */
    const char *W = Wf ? (const char *)Wf : (const char *)Wh;
    /* Each thread owns a band of output columns, so W's band stays in its cache across all rows.
     * Small products stay on one thread: starting threads would cost more than they save. A panel (kb
     * rows of the band) that more than one tile reads is copied once, side by side, into the thread's
     * own block for all its tiles (a float16 one made float32 on the way, and always). In W itself the
     * panel's rows are OC floats apart, and for some widths that maps them onto a few of the caches'
     * sets: with GPT-2 small's 3,072-wide MLP (rows 12 KB apart) on a core with a 48 KB L1 and a 2 MB
     * L2, that matmul ran at a third of the others' speed until its panels were copied. */
    const int packed = Wh || T > TR;
#pragma omp parallel if ((double)T * IC * OC > 2e5)
    {
        float *panel = packed ? aligned_alloc(64, sizeof(float) * (size_t)kb * OB) : NULL;
        if (packed && !panel) abort();
#pragma omp for schedule(static)
        for (int ob = 0; ob < n_full; ob++) {
            const int o0 = ob * OB;
            for (int k0 = 0; k0 < IC; k0 += kb) {
                const int n = IC - k0 < kb ? IC - k0 : kb;
                /* the panel after this one: the next block of this band, or the next band's first */
                const char *next = k0 + n < IC ? W + ((size_t)(k0 + n) * OC + o0) * esz : ob + 1 < n_full ? W + (size_t)(o0 + OB) * esz : NULL;
                const int next_n = k0 + n < IC ? (IC - k0 - n < kb ? IC - k0 - n : kb) : kb;
                const float *Wk = packed ? panel : Wf + (size_t)k0 * OC, *b = k0 ? NULL : bias;
                const size_t ws = packed ? OB : (size_t)OC;
                const int wo = packed ? 0 : o0;
                if (Wh) f16_rows_to_f32(panel, Wh + 2 * ((size_t)k0 * OC + o0), 2 * (size_t)OC, n, OB);
                else if (packed)
                    for (int i = 0; i < n; i++) memcpy(panel + (size_t)i * OB, Wf + (size_t)(k0 + i) * OC + o0, sizeof(float) * OB);
                for (int t0 = 0, k = 0; t0 < T; t0 += TR, k++) {
                    const int rows = T - t0 < TR ? T - t0 : TR;
                    const float *xt = x + (size_t)t0 * IC + k0;
                    float *ot = out + (size_t)t0 * OC;
                    /* the next panel's rows spread over this panel's tiles after the first (which waits
                     * for its own panel) */
                    int p0 = 0, p1 = next ? next_n : 0;
                    if (next && ntiles > 1) p0 = k ? (int)((long)next_n * (k - 1) / (ntiles - 1)) : 0, p1 = k ? (int)((long)next_n * k / (ntiles - 1)) : 0;
                    if (Wf) tile_any(ot, xt, Wk, ws, wo, b, k0 > 0, rows, n, IC, OC, o0, next, (size_t)OC * 4, 4, p0, p1);
                    else tile_any(ot, xt, Wk, ws, wo, b, k0 > 0, rows, n, IC, OC, o0, next, (size_t)OC * 2, 2, p0, p1);
                }
            }
        }
        free(panel);
    }
    /* Leftover columns (OC not a multiple of 64): plain loops, over each column gathered first (float16
     * made float32), so that both kinds of W get the same loop from the compiler. */
    if (n_full * OB < OC) {
        float *col = malloc(sizeof(float) * (size_t)IC);
        if (!col) abort();
        for (int o = n_full * OB; o < OC; o++) {
            for (int i = 0; i < IC; i++)
                if (Wf) col[i] = Wf[(size_t)i * OC + o];
                else f16_row_to_f32(col + i, Wh + 2 * ((size_t)i * OC + o), 1);
            for (int t = 0; t < T; t++) {
                float acc = bias ? bias[o] : 0.0f;
                for (int i = 0; i < IC; i++) acc += x[(size_t)t * IC + i] * col[i];
                out[(size_t)t * OC + o] = acc;
            }
        }
        free(col);
    }
}

void matmul_fast(float *out, const float *x, const float *W, const float *bias, int T, int IC, int OC) {
    matmul_any(out, x, W, NULL, bias, T, IC, OC);
}

void matmul_fast_f16(float *out, const float *x, const unsigned char *W, const float *bias, int T, int IC, int OC) {
    matmul_any(out, x, NULL, W, bias, T, IC, OC);
}

/* Sum of the 16 lanes, in halves (16 -> 8 -> 4 -> 1): a few vector adds instead of 15 dependent ones. */
static inline __attribute__((always_inline)) float hsum(v16 v) {
    typedef float v8 __attribute__((vector_size(32)));
    typedef float v4 __attribute__((vector_size(16)));
    v8 a, b;
    memcpy(&a, &v, sizeof a);
    memcpy(&b, (char *)&v + sizeof a, sizeof b);
    a += b;
    v4 c, d;
    memcpy(&c, &a, sizeof c);
    memcpy(&d, (char *)&a + sizeof c, sizeof d);
    c += d;
    return (c[0] + c[2]) + (c[1] + c[3]);
}

#define VR 4 /* rows of W (outputs) per tile in matmul_nt */

/* out[t][v0 + k] for rows t0..t0+rows and k < VR: dot products along C of x's rows and W's rows Wv + k C. */
static inline __attribute__((always_inline)) void tile_nt(float *out, const float *x, const float *Wv, int rows,
                                                          int C, int V, int v0) {
    v16 acc[TRN][VR];
    for (int r = 0; r < TRN; r++)
        for (int k = 0; k < VR; k++) acc[r][k] = (v16){0};
    int c16 = C / 16 * 16;
    for (int c = 0; c < c16; c += 16) {
        v16 w[VR];
        for (int k = 0; k < VR; k++) w[k] = load16(Wv + (size_t)k * C + c);
        for (int r = 0; r < TRN; r++) {
            if (r >= rows) break;
            v16 xv = load16(x + (size_t)r * C + c);
            for (int k = 0; k < VR; k++) acc[r][k] += xv * w[k];
        }
    }
    for (int r = 0; r < rows; r++)
        for (int k = 0; k < VR; k++) {
            float s = hsum(acc[r][k]);
            for (int c = c16; c < C; c++) s += x[(size_t)r * C + c] * Wv[(size_t)k * C + c];
            out[(size_t)r * V + v0 + k] = s;
        }
}

/* x @ W^T (matmul_nt_fast's contract), W float32 (Wf) or float16 (Wh: each block of VR rows made float32
 * once, into the thread's own block, for all of x's rows). */
MULTIVERSION static void matmul_nt_any(float *out, const float *x, const float *Wf, const unsigned char *Wh, int T,
                                       int C, int V) {
    int n_full = V / VR;
#pragma omp parallel if ((double)T * C * V > 2e5)
    {
        float *buf = Wh ? aligned_alloc(64, sizeof(float) * (((size_t)VR * C + 15) / 16 * 16)) : NULL;
        if (Wh && !buf) abort();
#pragma omp for schedule(static)
        for (int vb = 0; vb < n_full; vb++) {
            int v0 = vb * VR;
            const float *Wv = Wf ? Wf + (size_t)v0 * C : buf;
            if (Wh) f16_row_to_f32(buf, Wh + 2 * (size_t)v0 * C, (size_t)VR * C);
            for (int t0 = 0; t0 < T; t0 += TRN) {
                int rows = T - t0 < TRN ? T - t0 : TRN;
                const float *xt = x + (size_t)t0 * C;
                float *ot = out + (size_t)t0 * V;
                switch (rows) {
                case 4: tile_nt(ot, xt, Wv, 4, C, V, v0); break;
                case 3: tile_nt(ot, xt, Wv, 3, C, V, v0); break;
                case 2: tile_nt(ot, xt, Wv, 2, C, V, v0); break;
                default: tile_nt(ot, xt, Wv, 1, C, V, v0); break;
                }
            }
        }
        free(buf);
    }
    float *row = Wh && n_full * VR < V ? malloc(sizeof(float) * (size_t)C) : NULL;
    for (int v = n_full * VR; v < V; v++) {
        const float *w = Wf ? Wf + (size_t)v * C : row;
        if (Wh) f16_row_to_f32(row, Wh + 2 * (size_t)v * C, (size_t)C);
        for (int t = 0; t < T; t++) {
            float s = 0.0f;
            for (int c = 0; c < C; c++) s += x[(size_t)t * C + c] * w[c];
            out[(size_t)t * V + v] = s;
        }
    }
    free(row);
}

void matmul_nt_fast(float *out, const float *x, const float *W, int T, int C, int V) { matmul_nt_any(out, x, W, NULL, T, C, V); }

void matmul_nt_fast_f16(float *out, const float *x, const unsigned char *W, int T, int C, int V) {
    matmul_nt_any(out, x, NULL, W, T, C, V);
}

#define QB 4 /* queries per block in attn_scores_fast: each key is loaded once for all of them */

static inline __attribute__((always_inline)) void scores_block(float *const *scores, const float *const *q, int nq,
                                                               const float *keys, size_t key_stride, int K, float scale) {
    v16 qv[QB][4];
    for (int r = 0; r < nq; r++)
        for (int i = 0; i < 4; i++) qv[r][i] = load16(q[r] + 16 * i);
    for (int j = 0; j < K; j++) {
        const float *k = keys + (size_t)j * key_stride;
        v16 k0 = load16(k), k1 = load16(k + 16), k2 = load16(k + 32), k3 = load16(k + 48);
        for (int r = 0; r < nq; r++)
            scores[r][j] = hsum(qv[r][0] * k0 + qv[r][1] * k1 + qv[r][2] * k2 + qv[r][3] * k3) * scale;
    }
}

/* Attention scores of nq <= 4 queries (of one head) against the same K keys: the dot products of
 * attn_scores, 16 lanes at a time, each key read once for all the queries. HS is 64 in every GPT-2;
 * other sizes fall back to the plain loop. */
MULTIVERSION
void attn_scores_fast(float *const *scores, const float *const *q, int nq, const float *keys, size_t key_stride,
                      int K, int HS, float scale) {
    if (HS != 64 || nq < 1 || nq > QB) {
        for (int r = 0; r < nq; r++) attn_scores(scores[r], q[r], keys, key_stride, K, HS, scale);
        return;
    }
    switch (nq) { /* constant query counts keep the queries in registers */
    case 4: scores_block(scores, q, 4, keys, key_stride, K, scale); break;
    case 3: scores_block(scores, q, 3, keys, key_stride, K, scale); break;
    case 2: scores_block(scores, q, 2, keys, key_stride, K, scale); break;
    default: scores_block(scores, q, 1, keys, key_stride, K, scale); break;
    }
}

/* out (HS) = sum_j weights[j] * values[j], 16 lanes at a time. */
MULTIVERSION
void attn_weighted_sum_fast(float *out, const float *weights, const float *values, size_t value_stride, int K, int HS) {
    if (HS % 16 || HS > 256) {
        attn_weighted_sum(out, weights, values, value_stride, K, HS);
        return;
    }
    v16 acc[16];
    for (int i = 0; i < HS / 16; i++) acc[i] = (v16){0};
    for (int j = 0; j < K; j++) {
        if (weights[j] == 0.0f) continue;
        const float *v = values + (size_t)j * value_stride;
        for (int i = 0; i < HS / 16; i++) acc[i] += weights[j] * load16(v + 16 * i);
    }
    for (int i = 0; i < HS / 16; i++) store16(out + 16 * i, acc[i]);
}

/* exp(x) for 16 lanes: x = n ln2 + r with |r| <= ln2/2, exp(r) by its Taylor series to r^7 (relative
 * error below 2e-8 on that interval), times 2^n built in the exponent bits. x is clamped to
 * [-87, 88], where 2^n stays a normal float. */
typedef int i16 __attribute__((vector_size(64)));

/* Lane-wise: where mask (all ones) then a else b. */
static inline __attribute__((always_inline)) v16 select16(i16 mask, v16 a, v16 b) { return (v16)((mask & (i16)a) | (~mask & (i16)b)); }

static inline __attribute__((always_inline)) v16 exp16(v16 x) {
    const v16 lo = (v16){0} - 87.0f, hi = (v16){0} + 88.0f;
    x = select16(x < lo, lo, x);
    x = select16(x > hi, hi, x);
    const float round = 12582912.0f; /* 1.5 * 2^23: adding then subtracting it rounds to an integer */
    v16 n = (x * 1.44269504088896341f + round) - round;
    v16 r = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f; /* ln2 split in two for exactness */
    v16 p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720 + r * (1.0f / 5040)))))));
    i16 bits = (__builtin_convertvector(n, i16) + 127) << 23;
    return p * (v16)bits;
}

/* gelu_new of 16 lanes. Uses 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)): gelu(x) = x / (1 + exp(-2u)),
 * u = sqrt(2/pi) (x + 0.044715 x^3). */
static inline __attribute__((always_inline)) void gelu16(float *out, const float *x) {
    const float s2 = -2.0f * 0.7978845608028654f;
    v16 v = load16(x);
    v16 e = exp16(s2 * (v + 0.044715f * v * v * v));
    store16(out, v / (1.0f + e));
}

/* gelu_new, 16 lanes at a time, split across threads for many. Every number goes through the same 16
 * lanes, the last few too (zero-padded), so each one's gelu is the same bits wherever it sits in x: the
 * trace derives one row of h.L.mlp.gelu with this function from the row of h.L.mlp.fc (trace.h). */
MULTIVERSION
void gelu_fast(float *out, const float *x, size_t n) {
    const size_t n16 = n / 16 * 16;
    if (n16 < 16384) { /* one token's 3072: not worth the threads (nor OpenMP's runtime: forward.c, MANY_ROWS) */
        for (size_t i = 0; i < n16; i += 16) gelu16(out + i, x + i);
    } else {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n16; i += 16) gelu16(out + i, x + i);
    }
    if (n > n16) {
        float in[16] = {0}, o[16];
        memcpy(in, x + n16, (n - n16) * sizeof(float));
        gelu16(o, in);
        memcpy(out + n16, o, (n - n16) * sizeof(float));
    }
}

/* What one block of up to 4 queries of one head needs (attention_forward_fast's arguments). */
typedef struct {
    float *out;
    float *const *scores, *const *masked, *const *weights;
    const float *q, *keys, *values;
    size_t q_stride, kv_stride;
    int T, n_past, HS, C, K, all_scores;
    float scale;
} AttnJob;

static void attn_block(const AttnJob *a, int h, int b) {
    const int t0 = 4 * b, nq = a->T - t0 < 4 ? a->T - t0 : 4, K = a->K;
    float *sc[4] = {0};
    const float *qq[4] = {0};
    for (int r = 0; r < nq; r++) sc[r] = a->scores[h * a->T + t0 + r], qq[r] = a->q + (size_t)(t0 + r) * a->q_stride + (size_t)h * a->HS;
    /* the block's last query sees the most keys; the others' extra scores are masked below */
    const int n_keys = a->all_scores ? K : a->n_past + t0 + nq;
    attn_scores_fast(sc, qq, nq, a->keys + (size_t)h * a->HS, a->kv_stride, n_keys, a->HS, a->scale);
    for (int r = 0; r < nq; r++) {
        const int row = h * a->T + t0 + r, qpos = a->n_past + t0 + r;
        for (int j = a->all_scores ? K : qpos + 1; j < K; j++) a->scores[row][j] = -INFINITY; /* never computed */
        if (a->masked) attn_mask(a->masked[row], a->scores[row], K, qpos);
        softmax_masked(a->weights[row], a->scores[row], K, qpos); /* the masked row's softmax, not made */
        attn_weighted_sum_fast(a->out + (size_t)(t0 + r) * a->C + (size_t)h * a->HS, a->weights[row], a->values + (size_t)h * a->HS,
                               a->kv_stride, qpos + 1, a->HS);
    }
}

void attention_forward_fast(float *out, float *const *scores, float *const *masked, float *const *weights, const float *q,
                            size_t q_stride, const float *keys, const float *values, size_t kv_stride, int T, int n_past,
                            int NH, int HS, int all_scores) {
    const int NB = (T + 3) / 4; /* queries in blocks of 4 share each key's load */
    const AttnJob a = {out, scores, masked, weights, q, keys, values, q_stride, kv_stride, T, n_past, HS, NH * HS, n_past + T,
                       all_scores, 1.0f / sqrtf((float)HS)};
    if ((double)NH * T * a.K * HS <= 2e5) { /* one decoded token's short rows: one thread, no OpenMP runtime */
        for (int h = 0; h < NH; h++)
            for (int b = 0; b < NB; b++) attn_block(&a, h, b);
        return;
    }
#pragma omp parallel for collapse(2) schedule(static)
    for (int h = 0; h < NH; h++)
        for (int b = 0; b < NB; b++) attn_block(&a, h, b);
}

MULTIVERSION static void bf16_chunk(float *out, const unsigned char *src, size_t n) {
    for (size_t i = 0; i < n; i++) {
        uint16_t h;
        memcpy(&h, src + 2 * i, 2);
        uint32_t b = (uint32_t)h << 16;
        memcpy(out + i, &b, 4);
    }
}

void half_to_f32_fast(float *out, const unsigned char *src, size_t n, int bf16) {
    const size_t chunk = 1 << 16;
    const long nc = (long)((n + chunk - 1) / chunk);
#pragma omp parallel for schedule(static) if (nc > 4)
    for (long c = 0; c < nc; c++) {
        size_t i0 = (size_t)c * chunk, m = n - i0 < chunk ? n - i0 : chunk;
        if (bf16) bf16_chunk(out + i0, src + 2 * i0, m);
        else f16_chunk(out + i0, src + 2 * i0, m);
    }
}
