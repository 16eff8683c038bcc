/* heads.h - which attention heads do what. For every head, the mean attention weight its queries put
 * on three kinds of key, measured on the model's own attention weights:
 *   previous  the token just before the query (a "previous-token head");
 *   first     the first token of the text (a resting place for heads with nothing to do);
 *   induction on a random sequence of tokens repeated twice, the token that followed the earlier
 *             copy of the query's token (an "induction head", which continues repeated text);
 *   duplicate on the same sequence, the earlier copy of the query's own token (a "duplicate-token
 *             head", which notices that a token has been seen before).
 * 'gptstep heads' prints them; the model card and lessons name the clearest heads from them. */
#ifndef GPTSTEP_HEADS_H
#define GPTSTEP_HEADS_H

#include <stdint.h>

#include "common.h"
#include "generate.h"

typedef struct {
    float previous, first, induction, duplicate;
} HeadScores;

/* The scores by number (0 previous, 1 first, 2 induction, 3 duplicate), their names and what each
 * measures in a few words. */
#define HEAD_SCORES 4
float head_score(const HeadScores *s, int which);
extern const char *const HEAD_SCORE_NAMES[HEAD_SCORES];
extern const char *const HEAD_SCORE_WHAT[HEAD_SCORES];

/* The text scored when none is given: a few plain storybook sentences. */
extern const char *HEADS_DEFAULT_TEXT;

/* Fills scores[layer * n_head + head]. previous and first come from running text (at least 3
 * tokens; NULL = HEADS_DEFAULT_TEXT); induction from *n_random random token ids (drawn with seed)
 * repeated twice after <|endoftext|> (fewer when the context is short: *n_random says how many).
 * Sets *n_text to the text's tokens. Replaces what g holds (its trace needs attention recording). */
int heads_measure(Gen *g, const char *text, int *n_random, uint64_t seed, HeadScores *scores, int *n_text, Err *err);

#endif
