/* generate.h - one generation session: a model, its tokenizer, the KV-cached state, the trace and the
 * sampler, stepped one token at a time. The CLI, the viewer and the lessons all drive generation
 * through this interface, so they see the same tokens and tensors. */
#ifndef GPTSTEP_GENERATE_H
#define GPTSTEP_GENERATE_H

#include "common.h"
#include "forward.h"
#include "model.h"
#include "sampler.h"
#include "tokenizer.h"
#include "trace.h"

typedef struct {
    Gpt2Model model;
    Tokenizer *tok;
    Gpt2State state;
    Trace trace;
    SamplerSettings sampler;
    Rng rng;
    float *logits; /* (V) logits of the last position run */
    float *work;   /* (V) sampler scratch */
    int has_logits;
    double load_model_s, load_tokenizer_s; /* how long gen_open took for each (generate --verbose) */
    double ready_s;      /* ... and for the first run's memory, after the tokenizer (gen_open_progress) */
    int ready_positions; /* the positions it was made ready for */
} Gen;

/* Loads the model (a directory or a name under models/; NULL = the default model) and its tokenizer. */
int gen_open(Gen *g, const char *model_arg, TraceMode mode, Err *err);
/* What a first run will be, when it is known at open: the text of its prompt (NULL: none known) or
 * unconditional (<|endoftext|> alone), whether the text's special tokens count (as gen_start_text's
 * allow_special), and how many positions will run after the prompt's. */
typedef struct {
    const char *text;
    int special, unconditional, n_after;
} GenFirst;
/* The same, reporting the loading's progress (see gpt2_load_progress); with first (NULL: nothing known)
 * the memory of that first run (its key/value cache rows, scratch and trace memory) is made ready ahead
 * of it: by a helper thread while the tokenizer loads (for a guess of its size from the text's length),
 * then on all threads for the positions it will really have (the text tokenized). */
int gen_open_progress(Gen *g, const char *model_arg, TraceMode mode, const GenFirst *first, LoadProgress progress, void *ctx,
                      Err *err);
void gen_close(Gen *g);

/* What the forward passes switch off from now on (docs/experiments.md); the trace records it. The caller
 * reruns the text to see its effect. */
void gen_set_interventions(Gen *g, const Interventions *iv);

/* Starts over: clears the trace and cache and runs the prompt's tokens as step 0. */
int gen_start_ids(Gen *g, const int *ids, int n, Err *err);
/* Encodes text (with <|endoftext|> as the special token when allow_special) and starts from it. */
int gen_start_text(Gen *g, const char *text, int allow_special, Err *err);
/* Whether text would start a run (it encodes, it is not empty, it fits the context), changing nothing. */
int gen_check_text(const Gen *g, const char *text, int allow_special, Err *err);
/* Starts from <|endoftext|> alone: unconditional generation. */
int gen_start_unconditional(Gen *g, Err *err);

/* Chooses the next token with the sampler (or takes `forced` when >= 0), records the choice on the
 * current step, and returns it; does not run it through the model yet. */
int gen_choose(Gen *g, int forced);
/* Runs a whole path again in one forward pass (after an intervention changed the model): the prompt's
 * n_prompt tokens and the n_steps - 1 chosen after them (tokens holds all of them), with the steps
 * rebuilt as they were: chosen[s] and settings[s] after step s (the last one pending, -1: none). The
 * logits of each step's last position are computed when read, as a prompt's are. */
int gen_replay(Gen *g, const int *tokens, int n_prompt, int n_steps, const int *chosen, const SamplerSettings *settings,
               Err *err);

/* After gen_replay and a change of interventions at first_layer or later: reruns the same positions from
 * that layer on (gpt2_forward_rerun), keeping the steps; the same result as gen_replay, faster. */
int gen_rerun_from(Gen *g, int first_layer, Err *err);

/* Takes tr (a full recording of the text the state should hold, made with the interventions now set,
 * e.g. a kept clean run) as g's trace, and refills the key/value cache from its recorded k and v: the
 * state is then as if that text had just run, without running the model. tr's contents move to g. */
void gen_adopt_trace(Gen *g, Trace *tr);

/* Runs the token chosen at the last step as a new step. */
int gen_advance(Gen *g, Err *err);

/* Goes back to the state after position n_pos - 1 was run (drops later positions and steps). */
void gen_truncate(Gen *g, int n_pos);


#endif
