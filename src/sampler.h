/* sampler.h - turns logits into the next token: greedy, or temperature + top-k + top-p with a seeded
 * random generator, so that the same seed always gives the same text. Pure functions over arrays. */
#ifndef GPTSTEP_SAMPLER_H
#define GPTSTEP_SAMPLER_H

#include <stdint.h>

/* How a token is chosen: the sampler's settings (traces keep them with each step). */
typedef struct {
    int greedy;        /* 1: argmax, the other fields are ignored */
    float temperature; /* > 0 */
    int top_k;         /* 0 = off */
    float top_p;       /* 1 = off */
    uint64_t seed;
} SamplerSettings;

typedef struct {
    uint64_t state;
} Rng;

void rng_seed(Rng *r, uint64_t seed);
/* The generator for the choice after position pos - 1 (pos tokens seen): a function of the seed and the
 * position alone, so that the same text, seed and settings choose the same token there however it was
 * reached (generated in one go, stepped to, stepped back to, a setting changed and changed back). */
void rng_seed_at(Rng *r, uint64_t seed, int pos);
float rng_uniform(Rng *r); /* [0, 1) */

/* The ranges every front end accepts (the CLI's flags, the viewer's commands, lessons). */
#define SAMPLER_TEMPERATURE_MIN 0.001
#define SAMPLER_TEMPERATURE_MAX 100.0
#define SAMPLER_TOP_K_MAX 1000000
#define SAMPLER_TOP_P_MIN 0.000001

SamplerSettings sampler_default(void); /* temperature 1, top-k 40, top-p 1, seed 0 */

/* The distribution the sampler draws from (V): softmax(logits / temperature), then only the top_k most
 * likely and the smallest set reaching top_p mass are kept (renormalised); cut tokens get 0. Greedy gives
 * all mass to the argmax. Returns the number of tokens kept. */
int sampler_distribution(const float *logits, int V, const SamplerSettings *s, float *out);

/* Chooses a token from logits (V). work must hold V floats. */
int sampler_pick(const float *logits, int V, const SamplerSettings *s, Rng *r, float *work);

int argmax(const float *x, int n);

/* Entropy in nats of a probability vector (zeros contribute nothing). */
double dist_entropy(const float *p, int n);
/* Token ids sorted by descending probability (ties: lower id first). order must hold n ints. Probabilities
 * must be >= 0 (no NaN). */
void dist_sort(const float *p, int n, int *order);

/* Tests: sort with the plain qsort (the reference) instead of the radix sort (1), or back (0). */
void sampler_use_plain_sort(int on);

#endif
