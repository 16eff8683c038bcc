/* sampler.c - greedy, temperature, top-k and top-p sampling (the order of Hugging Face's generate). */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "ops.h"

/* splitmix64 spreads the seed; xorshift64* generates. */
void rng_seed(Rng *r, uint64_t seed) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    r->state = (z ^ (z >> 31)) | 1;
}

void rng_seed_at(Rng *r, uint64_t seed, int pos) {
    Rng s;
    rng_seed(&s, seed);
    rng_seed(r, s.state ^ (uint64_t)(unsigned)pos);
}

float rng_uniform(Rng *r) {
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return (float)((r->state * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

SamplerSettings sampler_default(void) {
    SamplerSettings s = {.greedy = 0, .temperature = 1.0f, .top_k = 40, .top_p = 1.0f, .seed = 0};
    return s;
}


int argmax(const float *x, int n) {
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

typedef struct {
    float p;
    int id;
} Cand;

static int by_prob_desc(const void *a, const void *b) {
    const Cand *x = a, *y = b;
    if (x->p != y->p) return x->p < y->p ? 1 : -1;
    return x->id - y->id; /* ties: lower id first, so the order is deterministic */
}

/* The plain sort: qsort by probability, descending, ties by lower id. */
static void sort_plain(Cand *c, int n) { qsort(c, (size_t)n, sizeof(Cand), by_prob_desc); }

/* The same order by a radix sort in four 8-bit passes over the probabilities' bits (non-negative
 * floats order as their bit patterns do), O(n); each pass is stable, so equal probabilities keep the
 * ids' ascending order. The plain sort is its reference (tests/test_ops.c). */
static void sort_fast(Cand *c, int n) {
    Cand *tmp = xmalloc(sizeof(Cand) * (size_t)n), *a = c, *b = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (int i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &a[i].p, 4);
            count[255 - ((u >> shift) & 255) + 1]++; /* descending: the largest byte first */
        }
        for (int k = 0; k < 256; k++) count[k + 1] += count[k];
        for (int i = 0; i < n; i++) {
            uint32_t u;
            memcpy(&u, &a[i].p, 4);
            b[count[255 - ((u >> shift) & 255)]++] = a[i];
        }
        Cand *t = a;
        a = b, b = t;
    }
    /* four passes: the result is back in c */
    free(tmp);
}

static int use_plain_sort;
void sampler_use_plain_sort(int on) { use_plain_sort = on; }

static void sort_cands(Cand *c, int n) {
    if (use_plain_sort) sort_plain(c, n);
    else sort_fast(c, n);
}

int sampler_distribution(const float *logits, int V, const SamplerSettings *s, float *out) {
    if (s->greedy || s->temperature <= 0) {
        memset(out, 0, (size_t)V * sizeof(float));
        out[argmax(logits, V)] = 1.0f;
        return 1;
    }
    /* softmax(logits / T) */
    for (int i = 0; i < V; i++) out[i] = logits[i] / s->temperature;
    softmax_forward(out, out, V);
    int keep_k = s->top_k > 0 && s->top_k < V ? s->top_k : V;
    if (keep_k == V && s->top_p >= 1.0f) return V;
    Cand *c = xmalloc((size_t)V * sizeof(Cand));
    for (int i = 0; i < V; i++) c[i] = (Cand){out[i], i};
    sort_cands(c, V);
    /* top-k, then the smallest prefix whose mass reaches top_p (it includes the token that crosses) */
    int keep = keep_k;
    if (s->top_p < 1.0f) {
        double kmass = 0, cum = 0;
        for (int i = 0; i < keep_k; i++) kmass += c[i].p;
        for (int i = 0; i < keep_k; i++) {
            cum += c[i].p / kmass;
            if (cum >= s->top_p) {
                keep = i + 1;
                break;
            }
        }
    }
    double mass = 0;
    for (int i = 0; i < keep; i++) mass += c[i].p;
    memset(out, 0, (size_t)V * sizeof(float));
    for (int i = 0; i < keep; i++) out[c[i].id] = (float)(c[i].p / mass);
    free(c);
    return keep;
}

int sampler_pick(const float *logits, int V, const SamplerSettings *s, Rng *r, float *work) {
    if (s->greedy || s->temperature <= 0) return argmax(logits, V);
    sampler_distribution(logits, V, s, work);
    float u = rng_uniform(r);
    double cum = 0;
    int last = -1;
    for (int i = 0; i < V; i++) {
        if (work[i] <= 0) continue;
        cum += work[i];
        last = i;
        if (u < cum) return i;
    }
    return last >= 0 ? last : argmax(logits, V); /* rounding: fall back to the last kept token */
}

double dist_entropy(const float *p, int n) {
    double h = 0;
    for (int i = 0; i < n; i++)
        if (p[i] > 0) h -= p[i] * log(p[i]);
    return h;
}

void dist_sort(const float *p, int n, int *order) {
    Cand *c = xmalloc((size_t)n * sizeof(Cand));
    for (int i = 0; i < n; i++) c[i] = (Cand){p[i], i};
    sort_cands(c, n);
    for (int i = 0; i < n; i++) order[i] = c[i].id;
    free(c);
}
