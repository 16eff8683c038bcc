/* test_ops.c - the fast matmul kernels against the plain reference ones, on shapes that exercise every
 * tile size and remainder, and a few kernels against values worked out by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "ops.h"
#include "sampler.h"

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static float max_rel_diff(const float *a, const float *b, size_t n) {
    float err = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        err = fmaxf(err, fabsf(a[i] - b[i]));
        scale = fmaxf(scale, fabsf(b[i]));
    }
    return scale > 0 ? err / scale : err;
}

/* W (n values) as float16 bytes at an odd address (p, to free), and those halves back as float32 (q). */
static const unsigned char *to_half(const float *W, size_t n, unsigned char **p, float **q) {
    *p = malloc(2 * n + 1);
    *q = alloc_floats(n);
    for (size_t i = 0; i < n; i++) {
        uint16_t h = f32_to_f16(W[i]);
        memcpy(*p + 1 + 2 * i, &h, 2);
        (*q)[i] = f16_to_f32(h);
    }
    return *p + 1;
}

/* The float16 kernels give, to the bit, what the float32 ones give on the same halves made float32. */
static void half_matmuls(const float *x, const float *W, const float *Wt, const float *b, int T, int IC, int OC) {
    unsigned char *p, *pt;
    float *q, *qt;
    const unsigned char *h = to_half(W, (size_t)IC * OC, &p, &q), *ht = to_half(Wt, (size_t)OC * IC, &pt, &qt);
    float *a = alloc_floats((size_t)T * OC), *c = alloc_floats((size_t)T * OC);
    static const char *name[] = {"plain", "F16C", "AVX-512"};
    int last = -1;
    for (int want = 0; want <= 2; want++) { /* each conversion this CPU has */
        const int path = f16_force_path(want);
        if (path == last) continue;
        last = path;
        matmul_fast(a, x, q, b, T, IC, OC);
        matmul_fast_f16(c, x, h, b, T, IC, OC);
        CHECK(!memcmp(a, c, sizeof(float) * (size_t)T * OC), "matmul_fast_f16 (%s conversion) T=%d IC=%d OC=%d: the same bits as matmul_fast",
              name[path], T, IC, OC);
        matmul_nt_fast(a, x, qt, T, IC, OC);
        matmul_nt_fast_f16(c, x, ht, T, IC, OC);
        CHECK(!memcmp(a, c, sizeof(float) * (size_t)T * OC), "matmul_nt_fast_f16 (%s conversion) T=%d C=%d V=%d: the same bits as matmul_nt_fast",
              name[path], T, IC, OC);
    }
    f16_force_path(-1);
    float *row = alloc_floats((size_t)OC);
    WMat wm = {NULL, h};
    const float *r = wmat_row(wm, (size_t)OC, (size_t)IC - 1, row);
    CHECK(!memcmp(r, q + (size_t)(IC - 1) * OC, sizeof(float) * (size_t)OC), "wmat_row of a float16 matrix, T=%d IC=%d OC=%d", T, IC, OC);
    free(p), free(pt), free(q), free(qt), free(a), free(c), free(row);
}

static void matmuls(void) {
    int shapes[][3] = {{1, 768, 2304}, {1, 3071, 770}, {4, 64, 64}, {5, 128, 512}, {7, 33, 100}, {64, 768, 768}, {3, 3072, 768},
                       {13, 1600, 200}, {1, 1, 1}, {1, 6400, 1600}, {1, 1600, 4800}, {19, 3072, 129}};
    unsigned seed = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int T = shapes[s][0], IC = shapes[s][1], OC = shapes[s][2];
        float *x = alloc_floats((size_t)T * IC), *W = alloc_floats((size_t)IC * OC), *b = alloc_floats((size_t)OC);
        float *ref = alloc_floats((size_t)T * OC), *fast = alloc_floats((size_t)T * OC);
        for (size_t i = 0; i < (size_t)T * IC; i++) x[i] = frand(&seed);
        for (size_t i = 0; i < (size_t)IC * OC; i++) W[i] = frand(&seed);
        for (int i = 0; i < OC; i++) b[i] = frand(&seed);
        matmul_forward(ref, x, W, b, T, IC, OC);
        matmul_fast(fast, x, W, b, T, IC, OC);
        float d = max_rel_diff(fast, ref, (size_t)T * OC);
        CHECK(d < 1e-5f, "matmul_fast T=%d IC=%d OC=%d: rel diff %g", T, IC, OC, d);
        matmul_fast(fast, x, W, NULL, T, IC, OC);
        matmul_forward(ref, x, W, NULL, T, IC, OC);
        CHECK(max_rel_diff(fast, ref, (size_t)T * OC) < 1e-5f, "matmul_fast without bias T=%d", T);
        /* logits layout: W seen as (V=OC, C=IC) rows */
        float *Wt = alloc_floats((size_t)OC * IC);
        for (size_t i = 0; i < (size_t)OC * IC; i++) Wt[i] = frand(&seed);
        matmul_nt_forward(ref, x, Wt, T, IC, OC);
        matmul_nt_fast(fast, x, Wt, T, IC, OC);
        d = max_rel_diff(fast, ref, (size_t)T * OC);
        CHECK(d < 1e-5f, "matmul_nt_fast T=%d C=%d V=%d: rel diff %g", T, IC, OC, d);
        half_matmuls(x, W, Wt, b, T, IC, OC);
        free(x), free(W), free(b), free(ref), free(fast), free(Wt);
    }
}

static void attention_kernels(void) {
    unsigned seed = 3;
    int K = 37, HS = 64, stride = 768;
    float *q = alloc_floats(64), *keys = alloc_floats((size_t)K * stride), *w = alloc_floats((size_t)K);
    float ref[64], fast[64], sr[37], sf[4 * 37];
    for (int i = 0; i < 64; i++) q[i] = frand(&seed);
    for (int i = 0; i < K * stride; i++) keys[i] = frand(&seed);
    for (int j = 0; j < K; j++) w[j] = j % 5 == 0 ? 0.0f : fabsf(frand(&seed));
    /* 1 to 4 queries at once: query r is q shifted by r*16 (overlapping reads are fine) */
    float *rows[4] = {sf, sf + 37, sf + 74, sf + 111};
    for (int nq = 1; nq <= 4; nq++) {
        const float *qs[4] = {keys + 5, keys + 21, keys + 37, keys + 53};
        attn_scores_fast(rows, qs, nq, keys + 64, (size_t)stride, K, HS, 0.125f);
        for (int r = 0; r < nq; r++) {
            attn_scores(sr, qs[r], keys + 64, (size_t)stride, K, HS, 0.125f);
            CHECK(max_rel_diff(rows[r], sr, (size_t)K) < 1e-5f, "attn_scores_fast, %d queries: query %d", nq, r);
        }
    }
    /* a head size other than 64 takes the plain loop */
    attn_scores_fast(rows, (const float *[]){q}, 1, keys + 64, (size_t)stride, K, 48, 0.125f);
    attn_scores(sr, q, keys + 64, (size_t)stride, K, 48, 0.125f);
    CHECK(max_rel_diff(sf, sr, (size_t)K) == 0.0f, "attn_scores_fast with HS = 48");
    attn_weighted_sum(ref, w, keys + 128, (size_t)stride, K, HS);
    attn_weighted_sum_fast(fast, w, keys + 128, (size_t)stride, K, HS);
    CHECK(max_rel_diff(fast, ref, 64) < 1e-5f, "attn_weighted_sum_fast");
    free(q), free(keys), free(w);
}

static void small_kernels(void) {
    /* layernorm of (1, 2, 3): mean 2, biased variance 2/3 */
    float x[3] = {1, 2, 3}, w[3] = {1, 1, 2}, b[3] = {0, 1, 0}, out[3];
    layernorm_forward(out, x, w, b, 1, 3, 0.0f);
    float r = 1.0f / sqrtf(2.0f / 3.0f);
    CHECK(fabsf(out[0] + r) < 1e-6f && fabsf(out[1] - 1) < 1e-6f && fabsf(out[2] - 2 * r) < 1e-6f, "layernorm");
    /* gelu_new(1) = 0.5 (1 + tanh(sqrt(2/pi) 1.044715)) = 0.841192 */
    float g;
    gelu_forward(&g, (float[]){1.0f}, 1);
    CHECK(fabsf(g - 0.8411920f) < 1e-6f, "gelu_new(1) = %.7f", g);
    /* softmax with a masked entry */
    float s[3] = {0, logf(3.0f), -INFINITY}, p[3];
    softmax_forward(p, s, 3);
    CHECK(fabsf(p[0] - 0.25f) < 1e-6f && fabsf(p[1] - 0.75f) < 1e-6f && p[2] == 0.0f, "softmax");
    float m[3];
    attn_mask(m, (float[]){1, 2, 3}, 3, 1);
    CHECK(m[0] == 1 && m[1] == 2 && isinf(m[2]) && m[2] < 0, "causal mask");
    /* q.k / sqrt(64) = 0.125 q.k */
    float q[64], k[128], sc[2];
    for (int i = 0; i < 64; i++) q[i] = 1, k[i] = 2, k[64 + i] = -1;
    attn_scores(sc, q, k, 64, 2, 64, 0.125f);
    CHECK(sc[0] == 16.0f && sc[1] == -8.0f, "scores %g %g", sc[0], sc[1]);
}

/* softmax_masked (the fast attention's weights, no masked row made) against attn_mask then
 * softmax_forward, as the plain attention does it: bit for bit, for queries at the first key, inside
 * the row, at its end and past it, and for a row with a key already -inf before the query. */
static void masked_softmax(void) {
    unsigned seed = 11;
    static const int KS[] = {1, 5, 17, 300};
    int same = 1, runs = 0;
    for (size_t c = 0; c < sizeof KS / sizeof KS[0]; c++) {
        const int K = KS[c];
        float *x = malloc(sizeof(float) * (size_t)K), *mk = malloc(sizeof(float) * (size_t)K);
        float *a = malloc(sizeof(float) * (size_t)K), *b = malloc(sizeof(float) * (size_t)K);
        for (int i = 0; i < K; i++) x[i] = (frand(&seed) * 2 - 1) * 12;
        if (K > 3) x[1] = -INFINITY;
        const int qs[] = {0, K / 2, K - 1, K + 3};
        for (int i = 0; i < 4; i++) {
            attn_mask(mk, x, K, qs[i]);
            softmax_forward(a, mk, K);
            softmax_masked(b, x, K, qs[i]);
            same &= memcmp(a, b, sizeof(float) * (size_t)K) == 0;
            runs++;
        }
        free(x), free(mk), free(a), free(b);
    }
    CHECK(same && runs == 16, "softmax_masked is attn_mask then softmax_forward, bit for bit (%d rows)", runs);
}

/* gelu_fast (vectorised exp) against gelu_forward (libm's tanhf) over the range activations take, the
 * tails where it saturates, and lengths that are not a multiple of its 16 lanes; and each number's result
 * the same bits wherever it sits (the trace derives a row of mlp.gelu alone that the pass computed in a
 * block of rows: trace.h). */
static void gelu_kernels(void) {
    size_t n = 100003;
    float *x = alloc_floats(n), *ref = alloc_floats(n), *fast = alloc_floats(n);
    unsigned seed = 11;
    for (size_t i = 0; i < n; i++) x[i] = i < 2000 ? -100.0f + 0.1f * (float)i : frand(&seed) * 12.0f;
    x[5] = 0.0f, x[6] = -0.0f, x[7] = 1e-30f, x[8] = 1e30f, x[9] = -1e30f;
    gelu_forward(ref, x, n);
    gelu_fast(fast, x, n);
    /* Both are off by about a float's rounding of 1 times |x| (0.5 x (1 + tanh) loses the low bits when
     * tanh is near -1, where gelu_fast's x / (1 + exp) does not), so compare against 1 + |x|. */
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)fast[i] - ref[i]) / (1.0 + fabs(x[i]));
        if (err > worst) worst = err;
    }
    CHECK(worst < 1e-6, "gelu_fast vs gelu_forward: worst error %g of 1 + |x|", worst);
    CHECK(fast[5] == 0.0f && fast[8] == 1e30f && fabsf(fast[9]) < 1e-6f && fast[7] == ref[7],
          "gelu_fast at 0 and the extremes");
    /* rows of 40 (two lanes of 16 and 8 over) alone, against the 100,003 at once (split across threads) */
    int same = 1, rows = 0;
    for (size_t r = 0; r + 40 <= n; r += 40 * 97, rows++) {
        float row[40];
        gelu_fast(row, x + r, 40);
        same &= memcmp(row, fast + r, sizeof row) == 0;
    }
    CHECK(same && rows > 20, "gelu_fast of %d rows of 40 alone equals the same numbers in one long call, bit for bit", rows);
    free(x), free(ref), free(fast);
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Whether h is v rounded to the nearest representable value, ties to even, judged only through the
 * decoder (checked against known values above): no neighbour of h is nearer to v. */
static int nearest_even(uint16_t h, float v, float (*dec)(uint16_t)) {
    double d = fabs((double)dec(h) - v);
    for (int step = -1; step <= 1; step += 2) {
        uint16_t n = (uint16_t)(h + step);
        if ((n & 0x7FFF) == 0x7FFF || ((h ^ n) & 0x8000)) continue; /* past zero or NaN space: not a neighbour */
        double dn = fabs((double)dec(n) - v);
        if (dn < d || (dn == d && (n & 1) == 0)) return 0;
    }
    return 1;
}

static void number_formats(void) {
    CHECK(f16_to_f32(0x3C00) == 1.0f && f16_to_f32(0xC000) == -2.0f && f16_to_f32(0x0001) == 5.9604645e-08f,
          "f16 decode");
    CHECK(bf16_to_f32(0x3F80) == 1.0f && bf16_to_f32(0x4049) == 3.140625f, "bf16 decode");
    /* the encoders on values worked out by hand (IEEE 754 binary16; bfloat16 is float32's top half) */
    static const struct { float v; uint16_t f16, bf16; } known[] = {
        {1.0f, 0x3C00, 0x3F80},          {-2.0f, 0xC000, 0xC000},         {0.1f, 0x2E66, 0x3DCD},
        {1.0f / 3, 0x3555, 0x3EAB},      {65504.0f, 0x7BFF, 0x4780},      {65520.0f, 0x7C00, 0x4780},
        {5.9604645e-08f, 0x0001, 0x3380}, {2.9802322e-08f, 0x0000, 0x3300}, {-0.0f, 0x8000, 0x8000},
        {3.14159265f, 0x4248, 0x4049},   {1e6f, 0x7C00, 0x4974},          {6.1035156e-05f, 0x0400, 0x3880},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        CHECK(f32_to_f16(known[i].v) == known[i].f16, "f16 encode of %g: got 0x%04X, expected 0x%04X", known[i].v,
              f32_to_f16(known[i].v), known[i].f16);
        CHECK(f32_to_bf16(known[i].v) == known[i].bf16, "bf16 encode of %g: got 0x%04X, expected 0x%04X", known[i].v,
              f32_to_bf16(known[i].v), known[i].bf16);
    }
    /* ties go to the even neighbour: 1 + 2^-11 lies halfway between f16 1.0 and 1.0009766; 1 + 2^-8 + 2^-9
     * between bf16 1.0078125 and 1.015625 */
    CHECK(f32_to_f16(bits_f32(0x3F801000)) == 0x3C00 && f32_to_f16(bits_f32(0x3F803000)) == 0x3C02, "f16 ties to even");
    CHECK(f32_to_bf16(bits_f32(0x3F808000)) == 0x3F80 && f32_to_bf16(bits_f32(0x3F818000)) == 0x3F82, "bf16 ties to even");
    uint16_t nan16 = f32_to_f16(NAN), nanb = f32_to_bf16(NAN);
    CHECK((nan16 & 0x7C00) == 0x7C00 && (nan16 & 0x3FF) && (nanb & 0x7F80) == 0x7F80 && (nanb & 0x7F), "NaN stays NaN");
    /* random values over the whole range: each encoding is the nearest value (one check for all of them) */
    unsigned seed = 7;
    int bad16 = 0, badb = 0;
    float first16 = 0, firstb = 0;
    for (int i = 0; i < 100000; i++) {
        float v = (frand(&seed) - 0.5f) * powf(2.0f, (float)(i % 40) - 24); /* 2^-25 .. 2^15 */
        if (!nearest_even(f32_to_f16(v), v, f16_to_f32) && !bad16++) first16 = v;
        if (!nearest_even(f32_to_bf16(v), v, bf16_to_f32) && !badb++) firstb = v;
    }
    CHECK(!bad16, "f16 encode: 100,000 values from 2^-25 to 2^15 each rounded to the nearest (%d wrong, first %g)", bad16, first16);
    CHECK(!badb, "bf16 encode: 100,000 values each rounded to the nearest (%d wrong, first %g)", badb, firstb);
}

/* The sampler's radix sort against the plain qsort: the same order (ties by lower id), the same
 * distributions for every kind of setting. */
static void sorts(void) {
    unsigned seed = 42;
    int V = 50257;
    float *p = malloc(sizeof(float) * V), *logits = malloc(sizeof(float) * V), *a = malloc(sizeof(float) * V),
          *b = malloc(sizeof(float) * V);
    int *oa = malloc(sizeof(int) * V), *ob = malloc(sizeof(int) * V);
    for (int i = 0; i < V; i++) logits[i] = frand(&seed) * 8 + (i % 97 == 0 ? 5 : 0);
    for (int i = 0; i < 300; i++) logits[1000 + i] = logits[7]; /* ties */
    softmax_forward(p, logits, V);
    for (int i = 0; i < 50; i++) p[2000 + i] = 0; /* zeros */
    sampler_use_plain_sort(1);
    dist_sort(p, V, oa);
    sampler_use_plain_sort(0);
    dist_sort(p, V, ob);
    CHECK(memcmp(oa, ob, sizeof(int) * V) == 0, "radix and plain sorts give the same order");
    SamplerSettings set[] = {{0, 1.0f, 40, 1.0f, 0}, {0, 0.7f, 0, 0.9f, 0}, {0, 1.3f, 5, 0.5f, 0}, {0, 1.0f, 0, 0.95f, 0}};
    for (int k = 0; k < 4; k++) {
        sampler_use_plain_sort(1);
        int ka = sampler_distribution(logits, V, &set[k], a);
        sampler_use_plain_sort(0);
        int kb = sampler_distribution(logits, V, &set[k], b);
        CHECK(ka == kb && memcmp(a, b, sizeof(float) * V) == 0, "setting %d: the same distribution (%d and %d kept)", k, ka, kb);
    }
    free(p), free(logits), free(a), free(b), free(oa), free(ob);
}

/* The plain attention (ops.c) against the fast one (ops_fast.c): the same scores, masked scores,
 * weights and output, for prefill and decode shapes, recording the future keys' scores or not. */
static void attention_plain_vs_fast(void) {
    unsigned seed = 3;
    static const int SHAPES[][4] = {{5, 7, 3, 16}, {1, 30, 4, 20}, {9, 0, 2, 64}, {4, 3, 12, 8}}; /* T, n_past, NH, HS */
    for (size_t c = 0; c < sizeof SHAPES / sizeof SHAPES[0]; c++) {
        int T = SHAPES[c][0], past = SHAPES[c][1], NH = SHAPES[c][2], HS = SHAPES[c][3], K = past + T, C = NH * HS;
        float *q = malloc(sizeof(float) * (size_t)T * 3 * C), *kv = malloc(sizeof(float) * (size_t)K * C * 2);
        for (int i = 0; i < T * 3 * C; i++) q[i] = frand(&seed) * 2 - 1;
        for (int i = 0; i < K * C * 2; i++) kv[i] = frand(&seed) * 2 - 1;
        const float *keys = kv, *vals = kv + (size_t)K * C;
        for (int all = 0; all < 2; all++) {
            float *buf[2][3], *out[2], *rows[2][3][64];
            for (int v = 0; v < 2; v++) {
                out[v] = calloc((size_t)T * C, sizeof(float));
                for (int k = 0; k < 3; k++) {
                    buf[v][k] = calloc((size_t)NH * T * K, sizeof(float));
                    for (int r = 0; r < NH * T; r++) rows[v][k][r] = buf[v][k] + (size_t)r * K;
                }
            }
            attention_forward(out[0], rows[0][0], rows[0][1], rows[0][2], q, 3 * (size_t)C, keys, vals, (size_t)C, T, past, NH, HS);
            attention_forward_fast(out[1], rows[1][0], rows[1][1], rows[1][2], q, 3 * (size_t)C, keys, vals, (size_t)C, T, past, NH,
                                   HS, all);
            int scores_ok = 1;
            for (int r = 0; r < NH * T; r++)
                for (int j = 0; j < K; j++) {
                    int t = r % T, future = j > past + t;
                    float a = rows[0][0][r][j], b = rows[1][0][r][j];
                    if (!future || all) scores_ok &= fabsf(a - b) <= 1e-5f * (1 + fabsf(a));
                    else scores_ok &= isinf(b) && b < 0; /* never computed */
                    if (!future) scores_ok &= rows[0][1][r][j] == a && fabsf(rows[1][1][r][j] - b) <= 1e-5f * (1 + fabsf(b));
                    else scores_ok &= isinf(rows[0][1][r][j]) && isinf(rows[1][1][r][j]);
                }
            CHECK(scores_ok, "shape %zu (all scores %d): plain and fast scores and masked scores agree", c, all);
            CHECK(max_rel_diff(buf[0][2], buf[1][2], (size_t)NH * T * K) < 1e-5, "shape %zu (all %d): weights agree", c, all);
            CHECK(max_rel_diff(out[0], out[1], (size_t)T * C) < 1e-5, "shape %zu (all %d): outputs agree", c, all);
            /* no masked rows wanted (NULL, as the forward pass asks now): the same weights and outputs,
             * bit for bit, from each kernel */
            float *wt[2], *o2[2], *wrows[2][64];
            for (int v = 0; v < 2; v++) {
                wt[v] = calloc((size_t)NH * T * K, sizeof(float));
                o2[v] = calloc((size_t)T * C, sizeof(float));
                for (int r = 0; r < NH * T; r++) wrows[v][r] = wt[v] + (size_t)r * K;
            }
            attention_forward(o2[0], rows[0][0], NULL, wrows[0], q, 3 * (size_t)C, keys, vals, (size_t)C, T, past, NH, HS);
            attention_forward_fast(o2[1], rows[1][0], NULL, wrows[1], q, 3 * (size_t)C, keys, vals, (size_t)C, T, past, NH, HS, all);
            CHECK(memcmp(wt[0], buf[0][2], sizeof(float) * (size_t)NH * T * K) == 0 &&
                      memcmp(o2[0], out[0], sizeof(float) * (size_t)T * C) == 0 &&
                      memcmp(wt[1], buf[1][2], sizeof(float) * (size_t)NH * T * K) == 0 &&
                      memcmp(o2[1], out[1], sizeof(float) * (size_t)T * C) == 0,
                  "shape %zu (all %d): without masked rows, plain and fast give the same weights and outputs bit for bit", c, all);
            for (int v = 0; v < 2; v++) free(wt[v]), free(o2[v]);
            for (int v = 0; v < 2; v++) {
                free(out[v]);
                for (int k = 0; k < 3; k++) free(buf[v][k]);
            }
        }
        free(q);
        free(kv);
    }
}

/* The vectorised float16/bfloat16 conversion against the plain one, for every one of the 65,536 values,
 * at an odd (unaligned) address. */
static void half_conversions(void) {
    unsigned char *src = malloc(2 * 65536 + 1);
    float *out = malloc(sizeof(float) * 65536);
    for (int i = 0; i < 65536; i++) src[1 + 2 * i] = (unsigned char)(i & 255), src[2 + 2 * i] = (unsigned char)(i >> 8);
    for (int bf = 0; bf < 2; bf++) {
        half_to_f32_fast(out, src + 1, 65536, bf);
        int bad = 0;
        for (int i = 0; i < 65536; i++) {
            float want = bf ? bf16_to_f32((uint16_t)i) : f16_to_f32((uint16_t)i);
            bad += memcmp(&want, out + i, 4) != 0;
        }
        CHECK(bad == 0, "%s: the fast conversion is bit-identical for all 65,536 values (%d differ)", bf ? "bfloat16" : "float16", bad);
    }
    /* the kernels' conversions (the CPU's own where it has one): the same but for NaNs, which stay NaNs */
    static const char *name[] = {"plain", "F16C", "AVX-512"};
    int last = -1;
    for (int want = 0; want <= 2; want++) {
        const int path = f16_force_path(want);
        if (path == last) continue;
        last = path;
        f16_row_to_f32(out, src + 1, 65536);
        int bad = 0, nan = 0;
        for (int i = 0; i < 65536; i++) {
            float v = f16_to_f32((uint16_t)i);
            if (isnan(v)) nan += isnan(out[i]) != 0;
            else bad += memcmp(&v, out + i, 4) != 0;
        }
        CHECK(bad == 0 && nan == 2046, "f16_row_to_f32 (%s conversion): the same float32 for all 63,490 numbers (%d differ), NaN for "
              "the 2,046 NaNs (%d)", name[path], bad, nan);
    }
    f16_force_path(-1);
    free(src);
    free(out);
}

int main(void) {
    half_conversions();
    sorts();
    attention_plain_vs_fast();
    masked_softmax();
    matmuls();
    attention_kernels();
    small_kernels();
    gelu_kernels();
    number_formats();
    return check_report("ops");
}
