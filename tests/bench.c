/* bench.c - speed of the decoder on random weights with GPT-2 small's shapes (12 layers, 12 heads,
 * 768 channels, 50,257 tokens): prefill at T=64 and T=256, decode of 128 tokens after a 64-token
 * prompt, each with recording full and off, and peak memory. Prints measurements only; the targets
 * are in docs/performance.md.   bench [--quick] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "common.h"
#include "forward.h"
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
    m->w.wte = rand_floats(50257 * C, &s, 0);
    m->w.wpe = rand_floats(1024 * C, &s, 0);
    m->w.h = xcalloc(12, sizeof(Gpt2Layer));
    for (int l = 0; l < 12; l++) {
        Gpt2Layer *h = &m->w.h[l];
        h->ln_1_w = rand_floats(C, &s, 1), h->ln_1_b = rand_floats(C, &s, 0);
        h->attn_w = rand_floats(C * 3 * C, &s, 0), h->attn_b = rand_floats(3 * C, &s, 0);
        h->attn_proj_w = rand_floats(C * C, &s, 0), h->attn_proj_b = rand_floats(C, &s, 0);
        h->ln_2_w = rand_floats(C, &s, 1), h->ln_2_b = rand_floats(C, &s, 0);
        h->fc_w = rand_floats(C * FF, &s, 0), h->fc_b = rand_floats(FF, &s, 0);
        h->fc_proj_w = rand_floats(FF * C, &s, 0), h->fc_proj_b = rand_floats(C, &s, 0);
    }
    m->w.ln_f_w = rand_floats(C, &s, 1), m->w.ln_f_b = rand_floats(C, &s, 0);
}

/* Best of `reps` runs of a T-token prefill, in tokens per second. */
static double prefill(const Gpt2Model *m, int T, TraceMode mode, int reps, int all_logits) {
    int *tok = malloc(sizeof(int) * (size_t)T);
    for (int t = 0; t < T; t++) tok[t] = (t * 7919) % 50257;
    double best = 0;
    Err err;
    for (int r = 0; r < reps; r++) {
        Gpt2State s;
        gpt2_state_init(&s, m);
        s.all_logits = all_logits;
        Trace tr;
        trace_init(&tr, &m->cfg, m->name, mode);
        trace_begin_step(&tr, 0, T);
        double t0 = now_seconds();
        if (gpt2_forward(&s, tok, T, &tr, NULL, &err)) fprintf(stderr, "%s\n", err.msg);
        double tps = T / (now_seconds() - t0);
        if (tps > best) best = tps;
        trace_free(&tr);
        gpt2_state_free(&s);
    }
    free(tok);
    return best;
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

int main(int argc, char **argv) {
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    Gpt2Model m;
    random_model(&m);
    int reps = quick ? 1 : 3;
    prefill(&m, 16, TRACE_OFF, 1, 0); /* warm up: page in the weights */
    double p64f = prefill(&m, 64, TRACE_FULL, reps, 0), p64o = prefill(&m, 64, TRACE_OFF, reps, 0);
    double p64a = prefill(&m, 64, TRACE_OFF, reps, 1);
    double p256f = prefill(&m, 256, TRACE_FULL, reps, 0), p256o = prefill(&m, 256, TRACE_OFF, reps, 0);
    double p256a = prefill(&m, 256, TRACE_OFF, reps, 1);
    int n = quick ? 16 : 128;
    double df = decode(&m, n, TRACE_FULL), dof = decode(&m, n, TRACE_OFF);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("decoder, random weights with GPT-2 small's shapes (124M parameters, float32)\n");
    printf("  recording full keeps every tensor of every position, including the next-token logits and\n"
           "  probabilities at every prompt position; 'off+logits' computes those logits without recording,\n"
           "  so 'copy cost' is what recording itself costs and 'full cost' adds the extra logits.\n");
    printf("  %-32s %8s %8s %11s %10s %10s\n", "tokens/s", "full", "off", "off+logits", "full cost", "copy cost");
    printf("  %-32s %8.0f %8.0f %11.0f %9.1f%% %9.1f%%\n", "prefill T=64", p64f, p64o, p64a,
           100 * (p64o / p64f - 1), 100 * (p64a / p64f - 1));
    printf("  %-32s %8.0f %8.0f %11.0f %9.1f%% %9.1f%%\n", "prefill T=256", p256f, p256o, p256a,
           100 * (p256o / p256f - 1), 100 * (p256a / p256f - 1));
    printf("  %-32s %8.1f %8.1f %11s %9.1f%% %10s\n", "decode 128 after 64", df, dof, "-", 100 * (dof / df - 1), "-");
    printf("  peak memory (resident): %.0f MB\n", ru.ru_maxrss / 1024.0);
    gpt2_free(&m);
    return 0;
}
