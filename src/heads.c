/* heads.c - per-head attention pattern scores (heads.h), read from the traced attention weights. */
#include "heads.h"

#include <stdlib.h>
#include <string.h>

#include "sampler.h"

const char *HEADS_DEFAULT_TEXT =
    "Once upon a time there lived a king who had three daughters. The youngest was the kindest of them "
    "all, and every morning she went down to the well at the edge of the forest to fetch water for her "
    "father. One day a little grey bird sat on the well and began to sing, and the princess stopped to "
    "listen, for she had never heard a song so sweet.";

const char *const HEAD_SCORE_NAMES[HEAD_SCORES] = {"previous", "first", "induction", "duplicate"};
const char *const HEAD_SCORE_WHAT[HEAD_SCORES] = {"the token just before the query", "the text's first token",
                                                  "the token after the earlier copy of the query's token",
                                                  "the earlier copy of the query's own token"};

float head_score(const HeadScores *s, int which) {
    return which == 0 ? s->previous : which == 1 ? s->first : which == 2 ? s->induction : s->duplicate;
}

/* Attention weights of layer l at position p: (NH, K) rows. */
static const float *weights_at(const Gen *g, int l, int p, int *K) {
    int64_t shape[2];
    int id = trace_id(&g->trace, TK_WEIGHTS, l);
    trace_shape(&g->trace, id, p, shape);
    *K = (int)shape[1];
    return trace_get(&g->trace, id, p);
}

int heads_measure(Gen *g, const char *text, int *n_random, uint64_t seed, HeadScores *scores, int *n_text, Err *err) {
    const Gpt2Config *c = &g->model.cfg;
    const int L = c->n_layer, NH = c->n_head;
    if (g->trace.mode == TRACE_OFF) return err_set(err, "the session records no attention");
    memset(scores, 0, (size_t)L * NH * sizeof *scores);

    /* 1. previous and first token, on running text; from the third token on, so that the previous
     * token and the first one are different keys. */
    if (gen_start_text(g, text ? text : HEADS_DEFAULT_TEXT, 1, err)) return -1;
    const int n = *n_text = g->trace.n_pos;
    if (n < 3) return err_set(err, "the text is %d token%s long; at least 3 are needed", n, n == 1 ? "" : "s");
    for (int l = 0; l < L; l++)
        for (int p = 2; p < n; p++) {
            int K;
            const float *w = weights_at(g, l, p, &K);
            for (int h = 0; h < NH; h++) {
                scores[l * NH + h].previous += w[(size_t)h * K + p - 1] / (float)(n - 2);
                scores[l * NH + h].first += w[(size_t)h * K + 0] / (float)(n - 2);
            }
        }

    /* 2. induction and duplicate: <|endoftext|>, R random tokens, the same R tokens again. A query in
     * the second copy at position R+1+i holds the token of position 1+i (its duplicate); the token that
     * followed it there is at position 2+i (what an induction head looks at). */
    int R = *n_random;
    if (1 + 2 * R > c->n_ctx) R = *n_random = (c->n_ctx - 1) / 2;
    if (R < 2) return err_set(err, "the model's context (%d) is too short to repeat a sequence", c->n_ctx);
    int *ids = xmalloc(sizeof(int) * (size_t)(1 + 2 * R));
    Rng rng;
    rng_seed(&rng, seed);
    ids[0] = tok_eot(g->tok);
    for (int i = 0; i < R; i++) {
        /* GPT-2's ids follow the order its merges were learned, so 256..5255 are common words and
         * pieces, tokens any model has seen often (the rare ones a small model barely knows) */
        int span = c->n_vocab - 257 < 5000 ? c->n_vocab - 257 : 5000;
        int id = 256 + (int)(rng_uniform(&rng) * (float)span);
        ids[1 + i] = ids[1 + R + i] = id < c->n_vocab - 1 ? id : c->n_vocab - 2;
    }
    int rc = gen_start_ids(g, ids, 1 + 2 * R, err);
    free(ids);
    if (rc) return -1;
    for (int l = 0; l < L; l++)
        for (int i = 0; i < R; i++) {
            int K, p = R + 1 + i;
            const float *w = weights_at(g, l, p, &K);
            for (int h = 0; h < NH; h++) {
                scores[l * NH + h].induction += w[(size_t)h * K + 2 + i] / (float)R;
                scores[l * NH + h].duplicate += w[(size_t)h * K + 1 + i] / (float)R; /* its own token, earlier */
            }
        }
    return 0;
}
