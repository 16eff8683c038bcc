/* bench.c - speed of the decoder on random weights with GPT-2 small's shapes (12 layers, 12 heads,
 * 768 channels, 50,257 tokens): prefill at T=64 and T=256, decode of 128 tokens after a 64-token
 * prompt, each with recording full and off, and peak memory; then this machine's limits (triad memory
 * bandwidth, FMA peak) measured in the same run, and the figures as fractions of them, next to the
 * issue's targets (docs/performance.md).   bench [--quick]   bench --prefill T full|attention|off [REPS]
 * bench --fresh MODEL T N: a fresh process's first prompt and decode against the same process's later
 * ones, through gen_open as gptstep's commands and the viewer run them (tests/bench.sh runs it). */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common.h"
#include "forward.h"
#include "generate.h"
#include "model.h"
#include "trace.h"

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return ((float)((*s >> 8) & 0xFFFF) / 32768.0f - 1.0f) * 0.05f;
}

static float *rand_floats(size_t n, unsigned *seed, float base) {
    float *p = alloc_floats(n);
    for (size_t i = 0; i < n; i++) p[i] = base + frand(seed);
    return p;
}

/* A GPT-2 small-shaped model with random weights, built in memory. */
static void random_model(Gpt2Model *m) {
    memset(m, 0, sizeof *m);
    Gpt2Config c = {.n_layer = 12, .n_head = 12, .n_embd = 768, .n_vocab = 50257, .n_ctx = 1024, .n_inner = 3072,
                    .ln_eps = 1e-5f};
    m->cfg = c;
    m->name = xstrdup("random-gpt2-small");
    m->dir = xstrdup("(memory)");
    unsigned s = 1;
    size_t C = 768, FF = 3072;
    m->w.wte.f = rand_floats(50257 * C, &s, 0);
    m->w.wpe.f = rand_floats(1024 * C, &s, 0);
    m->w.h = xcalloc(12, sizeof(Gpt2Layer));
    for (int l = 0; l < 12; l++) {
        Gpt2Layer *h = &m->w.h[l];
        h->ln_1_w = rand_floats(C, &s, 1), h->ln_1_b = rand_floats(C, &s, 0);
        h->attn_w.f = rand_floats(C * 3 * C, &s, 0), h->attn_b = rand_floats(3 * C, &s, 0);
        h->attn_proj_w.f = rand_floats(C * C, &s, 0), h->attn_proj_b = rand_floats(C, &s, 0);
        h->ln_2_w = rand_floats(C, &s, 1), h->ln_2_b = rand_floats(C, &s, 0);
        h->fc_w.f = rand_floats(C * FF, &s, 0), h->fc_b = rand_floats(FF, &s, 0);
        h->fc_proj_w.f = rand_floats(FF * C, &s, 0), h->fc_proj_b = rand_floats(C, &s, 0);
    }
    m->w.ln_f_w = rand_floats(C, &s, 1), m->w.ln_f_b = rand_floats(C, &s, 0);
}

/* One T-token prefill from an empty cache, in tokens per second: in a fresh state (reuse NULL), as a
 * process's first prompt, or in *reuse emptied, as every later prompt of the viewer or generate,
 * which keep theirs. */
static double prefill_in(const Gpt2Model *m, int T, TraceMode mode, int all_logits, Gpt2State *reuse) {
    int *tok = malloc(sizeof(int) * (size_t)T);
    for (int t = 0; t < T; t++) tok[t] = (t * 7919) % 50257;
    Err err;
    Gpt2State fresh, *sp = reuse ? reuse : &fresh;
    if (reuse) gpt2_state_truncate(reuse, 0);
    else gpt2_state_init(&fresh, m);
    sp->all_logits = all_logits;
    Trace tr;
    trace_init(&tr, &m->cfg, m->name, mode);
    trace_begin_step(&tr, 0, T);
    double t0 = now_seconds();
    if (gpt2_forward(sp, tok, T, &tr, NULL, &err)) fprintf(stderr, "%s\n", err.msg);
    double tps = T / (now_seconds() - t0);
    trace_free(&tr);
    if (!reuse) gpt2_state_free(sp);
    free(tok);
    return tps;
}

static double prefill(const Gpt2Model *m, int T, TraceMode mode, int all_logits) { return prefill_in(m, T, mode, all_logits, NULL); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n values (sorted in place), and their smallest and largest. */
static double median(double *v, int n, double *lo, double *hi) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = v[0], *hi = v[n - 1];
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* T-token prefills: r[0] full recording, r[2] off, r[3] off with every position's logits, best of reps
 * each (r[1] unused); cost[0..2]: what full recording costs, off's speed over full's minus one, taken
 * within each round and the median of the rounds (with the lowest and highest): the three kinds run
 * back to back in every round, each round starting with the next kind, so a slow moment of this shared
 * machine falls on one round's pair rather than on one kind's best (the issue's own method: ratios
 * taken within each round). */
static void prefills(const Gpt2Model *m, int T, int reps, double r[4], double cost[3]) {
    r[0] = prefill(m, T, TRACE_FULL, 0); /* a first one in a fresh state, as every viewer's first prompt */
    r[1] = r[2] = r[3] = 0;
    double *ratio = malloc(sizeof(double) * (size_t)reps);
    Gpt2State s;
    gpt2_state_init(&s, m);
    for (int i = 0; i < reps; i++) {
        double k[3]; /* full, off, every logit: each round starts with the next one, so none always follows another */
        for (int j = 0; j < 3; j++) {
            int kind = (i + j) % 3;
            k[kind] = prefill_in(m, T, kind == 0 ? TRACE_FULL : TRACE_OFF, kind == 2, &s);
        }
        double f = k[0], o = k[1], a = k[2];
        r[0] = f > r[0] ? f : r[0];
        r[2] = o > r[2] ? o : r[2];
        r[3] = a > r[3] ? a : r[3];
        ratio[i] = o / f - 1;
    }
    cost[0] = median(ratio, reps, &cost[1], &cost[2]);
    free(ratio);
    gpt2_state_free(&s);
}

/* Tokens per second decoding n tokens one at a time after a 64-token prompt. */
static double decode(const Gpt2Model *m, int n, TraceMode mode) {
    int tok[64];
    for (int t = 0; t < 64; t++) tok[t] = (t * 7919) % 50257;
    Gpt2State s;
    gpt2_state_init(&s, m);
    Trace tr;
    trace_init(&tr, &m->cfg, m->name, mode);
    Err err;
    float *logits = alloc_floats(50257);
    trace_begin_step(&tr, 0, 64);
    gpt2_forward(&s, tok, 64, &tr, logits, &err);
    double t0 = now_seconds();
    for (int i = 0; i < n; i++) {
        int next = (i * 31337) % 50257;
        trace_begin_step(&tr, s.n_past, 1);
        if (gpt2_forward(&s, &next, 1, &tr, logits, &err)) fprintf(stderr, "%s\n", err.msg);
    }
    double tps = n / (now_seconds() - t0);
    free(logits);
    trace_free(&tr);
    gpt2_state_free(&s);
    return tps;
}

/* ---- this machine's limits, measured in the same run: figures are reported as fractions of them ---- */

/* Memory bandwidth, with vector code whatever the project's flags (an -O2 loop stays scalar and
 * understates the machine: 47.5 GB/s where these measure 60.8): a STREAM triad a = b + s*c (12 bytes a
 * float, as STREAM counts), and a read-only sum of b (4 bytes a float) - the roof of a decode, which
 * only reads its weights. Three 128 MB arrays, every thread on its own part, best of 5; GB/s. */
typedef struct {
    double triad, read;
} Bandwidth;

__attribute__((target("avx512f"))) static void triad_avx512(float *a, const float *b, const float *c, size_t n, float s) {
    __m512 vs = _mm512_set1_ps(s);
    for (size_t i = 0; i + 16 <= n; i += 16) _mm512_storeu_ps(a + i, _mm512_fmadd_ps(vs, _mm512_loadu_ps(c + i), _mm512_loadu_ps(b + i)));
}
__attribute__((target("avx2,fma"))) static void triad_avx2(float *a, const float *b, const float *c, size_t n, float s) {
    __m256 vs = _mm256_set1_ps(s);
    for (size_t i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(a + i, _mm256_fmadd_ps(vs, _mm256_loadu_ps(c + i), _mm256_loadu_ps(b + i)));
}
__attribute__((target("avx512f"))) static float read_avx512(const float *b, size_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_loadu_ps(b + i)), s1 = _mm512_add_ps(s1, _mm512_loadu_ps(b + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_loadu_ps(b + i + 32)), s3 = _mm512_add_ps(s3, _mm512_loadu_ps(b + i + 48));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}
__attribute__((target("avx2"))) static float read_avx2(const float *b, size_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (size_t i = 0; i + 32 <= n; i += 32) {
        s0 = _mm256_add_ps(s0, _mm256_loadu_ps(b + i)), s1 = _mm256_add_ps(s1, _mm256_loadu_ps(b + i + 8));
        s2 = _mm256_add_ps(s2, _mm256_loadu_ps(b + i + 16)), s3 = _mm256_add_ps(s3, _mm256_loadu_ps(b + i + 24));
    }
    float o[8];
    _mm256_storeu_ps(o, _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    return o[0] + o[1] + o[2] + o[3] + o[4] + o[5] + o[6] + o[7];
}

static Bandwidth limit_bandwidth(void) {
    const size_t n = (size_t)32 << 20;
    Bandwidth bw = {0, 0};
    float *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *c = malloc(n * sizeof *c);
    if (!a || !b || !c) return bw;
    int w512 = __builtin_cpu_supports("avx512f"), w256 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (!w512 && !w256) return bw;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2; /* first touch on the thread that uses it */
    volatile float sink = 0;
    for (int r = 0; r < 5; r++) {
        const float s = 0.5f + (float)r;
        double t0 = now_seconds();
#pragma omp parallel
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t lo = n / (size_t)nt * (size_t)t / 64 * 64, hi = t == nt - 1 ? n : n / (size_t)nt * (size_t)(t + 1) / 64 * 64;
            if (w512) triad_avx512(a + lo, b + lo, c + lo, hi - lo, s);
            else triad_avx2(a + lo, b + lo, c + lo, hi - lo, s);
        }
        double t1 = now_seconds();
#pragma omp parallel
        {
            int t = omp_get_thread_num(), nt = omp_get_num_threads();
            size_t lo = n / (size_t)nt * (size_t)t / 64 * 64, hi = t == nt - 1 ? n : n / (size_t)nt * (size_t)(t + 1) / 64 * 64;
            float v = w512 ? read_avx512(b + lo, hi - lo) : read_avx2(b + lo, hi - lo);
#pragma omp atomic
            sink += v;
        }
        double t2 = now_seconds(), tr = 12.0 * (double)n / (t1 - t0) / 1e9, rd = 4.0 * (double)n / (t2 - t1) / 1e9;
        bw.triad = tr > bw.triad ? tr : bw.triad;
        bw.read = rd > bw.read ? rd : bw.read;
    }
    sink += a[n / 3];
    free(a), free(b), free(c);
    return bw;
}

/* Peak single-precision FMA throughput: 12 independent vector accumulators (enough to cover the FMA
 * units' latency), registers only, on every thread. GFLOP/s (an FMA is 2 FLOPs). */
#define FMA_ITERS 20000000L
/* twelve named accumulators, so that they stay in registers (an indexed array can live on the stack) */
#define FMA12(fma, m, add)                                                                                    \
    a0 = fma(a0, m, add), a1 = fma(a1, m, add), a2 = fma(a2, m, add), a3 = fma(a3, m, add), a4 = fma(a4, m, add), \
    a5 = fma(a5, m, add), a6 = fma(a6, m, add), a7 = fma(a7, m, add), a8 = fma(a8, m, add), a9 = fma(a9, m, add), \
    a10 = fma(a10, m, add), a11 = fma(a11, m, add)
__attribute__((target("avx512f"))) static float fma_loop_avx512(float x) {
    __m512 m = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(x);
    __m512 a0 = _mm512_set1_ps(0), a1 = _mm512_set1_ps(1), a2 = _mm512_set1_ps(2), a3 = _mm512_set1_ps(3),
           a4 = _mm512_set1_ps(4), a5 = _mm512_set1_ps(5), a6 = _mm512_set1_ps(6), a7 = _mm512_set1_ps(7),
           a8 = _mm512_set1_ps(8), a9 = _mm512_set1_ps(9), a10 = _mm512_set1_ps(10), a11 = _mm512_set1_ps(11);
    for (long i = 0; i < FMA_ITERS; i++) FMA12(_mm512_fmadd_ps, m, add);
    __m512 t = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    t = _mm512_add_ps(t, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return _mm512_reduce_add_ps(t);
}
__attribute__((target("avx2,fma"))) static float fma_loop_avx2(float x) {
    __m256 m = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(x);
    __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2), a3 = _mm256_set1_ps(3),
           a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5), a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7),
           a8 = _mm256_set1_ps(8), a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
    for (long i = 0; i < FMA_ITERS; i++) FMA12(_mm256_fmadd_ps, m, add);
    __m256 t = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    t = _mm256_add_ps(t, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float out[8];
    _mm256_storeu_ps(out, t);
    return out[0] + out[7];
}
static double fma_rate(int wide) { /* GFLOP/s of the 512-bit (wide) or 256-bit loop on every thread, best of 3 */
    double best = 0;
    for (int r = 0; r < 3; r++) {
        volatile float sink = 0;
        int threads = 1;
        double t0 = now_seconds();
#pragma omp parallel
        {
            float v = wide ? fma_loop_avx512(1e-6f * (float)r) : fma_loop_avx2(1e-6f * (float)r);
#pragma omp atomic
            sink += v;
#pragma omp single
            threads = omp_get_num_threads();
        }
        double gf = 2.0 * 12 * (wide ? 16 : 8) * (double)FMA_ITERS * threads / (now_seconds() - t0) / 1e9;
        best = gf > best ? gf : best;
    }
    return best;
}
/* The faster of the AVX-512 and AVX2 loops this CPU runs (some run 512-bit FMAs at half rate). */
static double limit_fma(const char **isa) {
    int avx512 = __builtin_cpu_supports("avx512f"), avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    double r512 = avx512 ? fma_rate(1) : 0, r256 = avx2 ? fma_rate(0) : 0;
    *isa = r512 >= r256 && avx512 ? "AVX-512" : avx2 ? "AVX2" : "none";
    return r512 > r256 ? r512 : r256;
}

/* FLOPs of one prompt token in a prefill of T tokens: the weight matmuls (12 C^2 a layer: qkv 3, attention
 * projection 1, MLP 4 + 4), attention (q.k and the weighted sum of v over (T+1)/2 keys on average), and
 * the logits of the last position shared among the T tokens. */
static double prefill_flops(const Gpt2Config *c, int T) {
    double C = c->n_embd, L = c->n_layer;
    return 2 * L * 12 * C * C + 2 * L * 2 * C * (T + 1) / 2.0 + 2 * C * c->n_vocab / T;
}

/* bench --fresh MODEL T N, in a process of its own as `gptstep trace` is one: MODEL loaded through
 * gen_open_progress (which makes the first run's memory ready: a helper thread while the tokenizer
 * loads, then all threads; the open's line says what that cost), then its
 * first T-token prompt ("the the ...", recorded in full) and N decoded tokens, each timed; then the same
 * again three times in the same process (its memory reused, as the viewer's every later prompt), the
 * best of them the warm speed. */
static int fresh(const char *model, int T, int n) {
    if (T < 1 || T > 100000 || n < 0) {
        fprintf(stderr, "bench --fresh MODEL T N: T from 1 to 100000 prompt tokens, N >= 0 decoded tokens\n");
        return 2;
    }
    size_t len = 3 + 4 * (size_t)(T - 1);
    char *text = malloc(len + 1);
    strcpy(text, "the");
    for (int t = 1; t < T; t++) strcat(text + 3 + 4 * (size_t)(t - 1), " the");
    Gen g;
    Err err;
    double t_open = now_seconds();
    GenFirst run = {text, 0, 0, n};
    if (gen_open_progress(&g, model, TRACE_FULL, &run, NULL, NULL, &err)) {
        fprintf(stderr, "bench: %s\n", err.msg);
        return 1;
    }
    t_open = now_seconds() - t_open;
    g.sampler.greedy = 1;
    double first[2] = {0}, warm[2] = {0};
    int T_run = 0;
    for (int r = 0; r < 4; r++) {
        double t0 = now_seconds();
        if (gen_start_text(&g, text, 0, &err)) break;
        double t1 = now_seconds();
        for (int i = 0; i < n && gen_choose(&g, -1) >= 0 && gen_advance(&g, &err) == 0; i++) {}
        double t2 = now_seconds();
        T_run = g.trace.steps[0].n_pos;
        double p = T_run / (t1 - t0), d = n / (t2 - t1);
        if (r == 0) first[0] = p, first[1] = d;
        else warm[0] = p > warm[0] ? p : warm[0], warm[1] = d > warm[1] ? d : warm[1];
    }
    if (!warm[0]) fprintf(stderr, "bench: %s\n", err.msg);
    else if (n == 0)
        printf("  a fresh process (%s, %d-token prompt, full recording): first prefill %.0f tokens/s, warm %.0f: %.2f of the warm "
               "speed (target >= 0.85)\n", g.model.name, T_run, first[0], warm[0], first[0] / warm[0]);
    else
        printf("  a fresh process (%s, %d-token prompt + %d tokens, full recording): first prefill %.0f tokens/s, warm %.0f: "
               "%.2f of the warm speed; first decode %.1f, warm %.1f: %.2f (target >= 0.85 each)\n",
               g.model.name, T_run, n, first[0], warm[0], first[0] / warm[0], first[1], warm[1], first[1] / warm[1]);
    if (warm[0]) /* readying the first run's memory after the tokenizer: a cost moved out of the first run, not gone */
        printf("    its open %.3f s: model %.3f s, tokenizer %.3f s, then memory for %d positions %.3f s\n", t_open,
               g.load_model_s, g.load_tokenizer_s, g.ready_positions, g.ready_s);
    gen_close(&g);
    free(text);
    return warm[0] ? 0 : 1;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--fresh") == 0) return fresh(argv[2], atoi(argv[3]), atoi(argv[4]));
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    Gpt2Model m;
    random_model(&m);
    if (argc > 3 && strcmp(argv[1], "--prefill") == 0) { /* bench --prefill T full|attention|off [reps]: for profiling */
        int T = atoi(argv[2]), reps = argc > 4 ? atoi(argv[4]) : 10;
        TraceMode mode = strcmp(argv[3], "full") == 0 ? TRACE_FULL : strcmp(argv[3], "off") == 0 ? TRACE_OFF : TRACE_ATTN;
        double best = 0;
        Gpt2State s;
        gpt2_state_init(&s, &m);
        for (int i = 0; i < reps; i++) {
            double tps = prefill_in(&m, T, mode, 0, &s);
            best = tps > best ? tps : best;
        }
        gpt2_state_free(&s);
        printf("prefill T=%d %s: %.0f tokens/s (best of %d)\n", T, argv[3], best, reps);
        gpt2_free(&m);
        return 0;
    }
    if (argc > 2 && strcmp(argv[1], "--decode") == 0) { /* bench --decode N [full|off]: for profiling */
        int n = atoi(argv[2]);
        double tps = decode(&m, n > 0 ? n : 128, argc > 3 && !strcmp(argv[3], "off") ? TRACE_OFF : TRACE_FULL);
        printf("decode %d after 64: %.1f tokens/s\n", n, tps);
        gpt2_free(&m);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--limits") == 0) { /* bench --limits: this machine's limits only */
        const char *isa;
        Bandwidth bw = limit_bandwidth();
        double peak = limit_fma(&isa);
        printf("memory bandwidth %.1f GB/s (triad), %.1f GB/s (read only), FMA peak %.0f GFLOP/s (%s), %d threads\n", bw.triad, bw.read, peak,
               isa, omp_get_max_threads());
        gpt2_free(&m);
        return 0;
    }
    int reps = quick ? 1 : 15;
    prefill(&m, 16, TRACE_OFF, 0); /* warm up: page in the weights */
    int n = quick ? 16 : 128, dreps = quick ? 1 : 3;
    double p64[4], p256[4], c64[3], c256[3], dratio[3];
    prefills(&m, 64, reps, p64, c64);
    prefills(&m, 256, reps, p256, c256);
    double df = 0, dof = 0, dcost[3];
    for (int i = 0; i < dreps; i++) { /* taking turns, as above */
        double f = decode(&m, n, TRACE_FULL), o = decode(&m, n, TRACE_OFF);
        df = f > df ? f : df;
        dof = o > dof ? o : dof;
        dratio[i] = o / f - 1;
    }
    dcost[0] = median(dratio, dreps, &dcost[1], &dcost[2]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("decoder, random weights with GPT-2 small's shapes (124M parameters, float32), best of %d rounds (decode %d) taking\n"
           "turns; the cost of full recording is off's speed over full's within a round, the median of the rounds [lowest, highest]\n",
           reps, dreps);
    printf("  full: every tensor of every position recorded (prompt positions' logits deferred to first read)\n"
           "  off: nothing recorded, logits of the last position;\n"
           "  all logits: nothing recorded, logits at every position (as a training framework computes them)\n");
    printf("  %-28s %8s %8s %11s   %s\n", "tokens/s", "full", "off", "all logits", "full cost (target <= 10%)");
    double *p[2] = {p64, p256}, *cost[3] = {c64, c256, dcost};
    for (int i = 0; i < 2; i++)
        printf("  %-28s %8.0f %8.0f %11.0f   %.1f%% [%.1f, %.1f]\n", i ? "prefill T=256" : "prefill T=64", p[i][0], p[i][2], p[i][3],
               100 * cost[i][0], 100 * cost[i][1], 100 * cost[i][2]);
    printf("  %-28s %8.1f %8.1f %11s   %.1f%% [%.1f, %.1f]\n", "decode 128 after 64", df, dof, "-", 100 * cost[2][0], 100 * cost[2][1],
           100 * cost[2][2]);
    printf("  peak memory (resident): %.0f MB\n", ru.ru_maxrss / 1024.0);
    /* the same figures as fractions of this machine's limits, measured now */
    const char *isa;
    Bandwidth bw = limit_bandwidth();
    double peak = limit_fma(&isa);
    const Gpt2Config *c = &m.cfg; /* every float32 parameter, read once a decoded token: 124.4M, 498 MB */
    double C = c->n_embd, n_params = (double)c->n_vocab * C + (double)c->n_ctx * C + c->n_layer * (12 * C * C + 13 * C) + 2 * C;
    double weight_bytes = 4.0 * n_params;
    printf("this machine's limits, measured in this run with vector code (%d threads): memory bandwidth %.1f GB/s (triad),\n"
           "  %.1f GB/s (read only: a decode's roof, it only reads weights); single-precision FMA peak %.0f GFLOP/s (%s)\n",
           omp_get_max_threads(), bw.triad, bw.read, peak, isa);
    for (int i = 0; i < 2; i++) {
        int T = i ? 256 : 64;
        double f = prefill_flops(&m.cfg, T) / 1e9;
        printf("  prefill T=%-3d full recording: %.0f tok/s x %.1f MFLOP = %.0f GFLOP/s = %.2f of the FMA peak (target >= 0.45)\n", T,
               p[i][0], f * 1e3, p[i][0] * f, p[i][0] * f / peak);
    }
    printf("  decode full recording: %.1f tok/s x %.0f MB of weights = %.1f GB/s = %.2f of the read-only bandwidth (target >= 0.75),\n"
           "    %.2f of the triad's\n",
           df, weight_bytes / 1e6, df * weight_bytes / 1e9, df * weight_bytes / 1e9 / bw.read, df * weight_bytes / 1e9 / bw.triad);
    gpt2_free(&m);
    return 0;
}
