/* generate.c - steps a generation: prompt (step 0), then choose -> advance, one token per step. */
#include "generate.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

int gen_open(Gen *g, const char *model_arg, TraceMode mode, Err *err) {
    return gen_open_progress(g, model_arg, mode, NULL, NULL, NULL, err);
}

/* How many positions a first run may have, before its text can be tokenized: a guess on the high side
 * (a GPT-2 token is about 4 bytes of English text; 3 assumed), for the helper thread. */
static int guess_positions(const GenFirst *f) {
    size_t bytes = f->unconditional || !f->text ? 0 : strlen(f->text);
    return (int)(bytes / 3 < 100000 ? bytes / 3 : 100000) + 1 + (f->n_after > 0 ? f->n_after : 0);
}

/* ... and how many its prompt will have: the text tokenized (the guess when it cannot be). */
static int prompt_positions(Gen *g, const GenFirst *f) {
    if (f->unconditional || !f->text) return 1;
    int *ids = NULL, n = 0;
    Err err;
    size_t len = strlen(f->text);
    if (len / 256 > (size_t)g->model.cfg.n_ctx || tok_encode(g->tok, f->text, len, f->special, &ids, &n, &err))
        return guess_positions(f) - (f->n_after > 0 ? f->n_after : 0);
    free(ids);
    return n;
}

static double spill_threshold_bytes(void);

/* The helper of gen_open_progress: the page faults of a fresh process's first prompt (its cache rows,
 * the trace's first chunks), taken while the tokenizer loads on one thread. */
typedef struct {
    Gen *g;
    int n_pos;
    atomic_int stop;
} Warm;

static void *warm_main(void *arg) {
    Warm *w = arg;
    gpt2_state_warm(&w->g->state, w->n_pos, &w->stop);
    trace_warm(&w->g->trace, w->n_pos, (size_t)spill_threshold_bytes(), &w->stop);
    return NULL;
}

int gen_open_progress(Gen *g, const char *model_arg, TraceMode mode, const GenFirst *first, LoadProgress progress, void *ctx,
                      Err *err) {
    memset(g, 0, sizeof *g);
    char *dir = gpt2_resolve_model(model_arg, err);
    if (!dir) return -1;
    double t0 = now_seconds();
    int rc = gpt2_load_progress(&g->model, dir, progress, ctx, err);
    g->load_model_s = now_seconds() - t0;
    if (rc == 0) { /* memory the model will need, said up front rather than dying on it */
        const Gpt2Config *c = &g->model.cfg;
        double kv = 2.0 * c->n_layer * c->n_ctx * c->n_embd * sizeof(float), avail = mem_available_bytes();
        if (avail > 0 && kv > 0.8 * avail) {
            rc = err_set(err, "%s: its key/value cache for a %d-token context needs %.1f GB (%d layers x %d positions x 2 x %d "
                         "floats), more than the %.1f GB of memory available", dir, c->n_ctx, kv / 1e9, c->n_layer, c->n_ctx,
                         c->n_embd, avail / 1e9);
            gpt2_free(&g->model);
        }
    }
    if (rc) {
        free(dir);
        return rc;
    }
    gpt2_state_init(&g->state, &g->model);
    trace_init(&g->trace, &g->model.cfg, g->model.name, mode);
    /* The first run's fresh memory (its key/value cache rows, its trace's chunks, the prompt pass's
     * scratch) is made ready here, not by the first pass's writes: its page faults would otherwise fall
     * on that pass (fresh memory fills at 1 to 18 GB/s on the project's machines, at about 1 GB/s when
     * the host has taken back memory the machine freed, and a 256-token prompt recorded in full on
     * GPT-2 small writes 165 MB of it). The tokenizer
     * loads on this thread alone (60 ms for GPT-2's): meanwhile a helper thread takes what faults it can;
     * once the tokenizer is ready all threads take the rest (as llama.cpp clears its whole key/value
     * cache when it makes a context). Gen.ready_s says what that last part cost. */
    Warm w = {g, first ? guess_positions(first) : 0, 0};
    pthread_t helper;
    int helping = first && pthread_create(&helper, NULL, warm_main, &w) == 0;
    double t1 = now_seconds();
    g->tok = tok_load_for_model(dir, err);
    g->load_tokenizer_s = now_seconds() - t1;
    if (helping) {
        atomic_store(&w.stop, 1);
        pthread_join(helper, NULL);
    }
    if (g->tok && first) {
        double t2 = now_seconds();
        /* the prompt's pass needs scratch for its tokens; the cache and the trace keep every position
         * (none for a prompt longer than the context: it will be refused) */
        int n_prompt = prompt_positions(g, first), n = n_prompt + (first->n_after > 0 ? first->n_after : 0);
        if (n_prompt <= g->model.cfg.n_ctx) {
            gpt2_state_warm(&g->state, n, NULL);
            gpt2_state_ready_scratch(&g->state, n_prompt);
            trace_warm(&g->trace, n, (size_t)spill_threshold_bytes(), NULL);
            g->ready_positions = n < g->model.cfg.n_ctx ? n : g->model.cfg.n_ctx;
        }
        g->ready_s = now_seconds() - t2;
    }
    if (!g->tok) rc = -1;
    else if (tok_vocab_size(g->tok) != g->model.cfg.n_vocab)
        rc = err_set(err, "%s: tokenizer has %d tokens, expected %d (the model's vocabulary)", dir, tok_vocab_size(g->tok),
                     g->model.cfg.n_vocab);
    free(dir);
    if (rc) {
        trace_free(&g->trace);
        gpt2_state_free(&g->state);
        tok_free(g->tok);
        gpt2_free(&g->model);
        memset(g, 0, sizeof *g);
        return rc;
    }
    g->sampler = sampler_default();
    g->logits = alloc_floats((size_t)g->model.cfg.n_vocab);
    g->work = alloc_floats((size_t)g->model.cfg.n_vocab);
    return 0;
}

void gen_close(Gen *g) {
    if (!g->tok) return;
    free(g->logits);
    free(g->work);
    trace_free(&g->trace);
    gpt2_state_free(&g->state);
    tok_free(g->tok);
    gpt2_free(&g->model);
    memset(g, 0, sizeof *g);
}

/* A recording bigger than this goes to a file (trace_spill): GPTSTEP_TRACE_SPILL_MB, default 1024. */
static double spill_threshold_bytes(void) {
    const char *e = getenv("GPTSTEP_TRACE_SPILL_MB");
    char *end;
    double mb = e && *e ? strtod(e, &end) : 1024;
    if (!e || !*e || *end || mb < 0) mb = 1024;
    return mb * 1048576.0;
}

/* Plans the memory of a run that records n_new more positions: a trace that would pass the spill
 * threshold lives in a file from now on (then it needs disk, not memory); one that would not fit is
 * refused, with the numbers. */
static int check_trace_memory(Gen *g, int n_new, Err *err) {
    if (g->trace.mode == TRACE_OFF) return 0;
    int past = g->state.n_past;
    double bytes = 0, have = 0;
    /* in memory the n_new positions run in one pass: each has past + n_new keys (a file's blocks of
     * SPILL_BLOCK have fewer, so its disk is planned on the safe side) */
    for (int i = 0; i < n_new; i++) bytes += 4.0 * trace_position_floats(&g->trace, past + i, past + n_new, i == n_new - 1);
    for (int i = 0; i < g->trace.n_pos; i++) have += 4.0 * (double)(g->trace.pos[i].n_floats + g->trace.pos[i].n_scores);
    if (!g->trace.spilled && have + bytes > spill_threshold_bytes() && trace_spill(&g->trace, err)) return -1;
    if (g->trace.spilled) {
        struct statvfs fs;
        double free_disk = fstatvfs(g->trace.spill_fd, &fs) == 0 ? (double)fs.f_bavail * fs.f_frsize : -1;
        if (free_disk >= 0 && bytes > 0.9 * free_disk)
            return err_set(err, "recording %d more position%s (to %d) needs %.2f GB of disk for the trace file, more than the "
                           "%.2f GB free: use a shorter text, set TMPDIR to a bigger disk, or record less (gptstep trace --record "
                           "attention)", n_new, n_new == 1 ? "" : "s", past + n_new, bytes / 1e9, free_disk / 1e9);
        return 0;
    }
    double avail = mem_available_bytes();
    if (avail > 0 && bytes > 0.85 * avail)
        return err_set(err, "recording %d more position%s (to %d) needs %.2f GB, more than the %.2f GB of memory left: "
                       "use a shorter text, or record less (gptstep trace --record attention)", n_new, n_new == 1 ? "" : "s",
                       past + n_new, bytes / 1e9, avail / 1e9);
    return 0;
}

/* Runs tokens through the model into the trace. A trace in a file gets them in blocks of 64, each
 * released from resident memory once written: the memory a long text needs is a block's. */
#define SPILL_BLOCK 64
static int forward_recorded(Gen *g, const int *tokens, int n, Err *err) {
    if (!g->trace.spilled) return gpt2_forward(&g->state, tokens, n, &g->trace, g->logits, err);
    for (int i = 0; i < n; i += SPILL_BLOCK) {
        int rc = gpt2_forward(&g->state, tokens + i, n - i < SPILL_BLOCK ? n - i : SPILL_BLOCK, &g->trace, g->logits, err);
        trace_release(&g->trace);
        if (rc) return rc;
    }
    return 0;
}

/* Mean ablation takes its means over the text a run starts from, in a clean run of it (forward.h). */
static int prepare_means(Gen *g, const int *tokens, int n, Err *err) {
    if (!g->state.iv.n || g->state.iv.mode != ABLATE_MEAN) return 0;
    return gpt2_collect_means(&g->state, tokens, n, err);
}

static int check_prompt_ids(const Gen *g, int n, Err *err) {
    if (n <= 0) return err_set(err, "the prompt is empty: give some text, or generate unconditionally");
    if (n > g->model.cfg.n_ctx)
        return err_set(err, "the prompt is %d tokens, longer than the model's %d-token context", n,
                       g->model.cfg.n_ctx);
    return 0;
}

int gen_check_text(const Gen *g, const char *text, int allow_special, Err *err) {
    size_t len = strlen(text);
    if (len / 256 > (size_t)g->model.cfg.n_ctx)
        return err_set(err, "the prompt is %zu bytes, at least %zu tokens: longer than the model's %d-token context", len,
                       len / 256, g->model.cfg.n_ctx);
    int *ids = NULL, n = 0;
    if (tok_encode(g->tok, text, len, allow_special, &ids, &n, err)) return -1;
    free(ids);
    return check_prompt_ids(g, n, err);
}

int gen_start_ids(Gen *g, const int *ids, int n, Err *err) {
    if (check_prompt_ids(g, n, err)) return -1; /* before anything changes: a bad prompt leaves the run as it was */
    gen_truncate(g, 0);
    if (check_trace_memory(g, n, err) || prepare_means(g, ids, n, err)) return -1;
    trace_begin_step(&g->trace, 0, n);
    int rc = forward_recorded(g, ids, n, err);
    if (rc) gen_truncate(g, 0);
    g->has_logits = rc == 0;
    return rc;
}

int gen_start_text(Gen *g, const char *text, int allow_special, Err *err) {
    int *ids = NULL, n = 0;
    /* the context check before the work: no token is longer than 256 bytes (tokenizer.c), so a text
     * of more than 256 bytes a position cannot fit */
    size_t len = strlen(text);
    if (len / 256 > (size_t)g->model.cfg.n_ctx)
        return err_set(err, "the prompt is %zu bytes, at least %zu tokens: longer than the model's %d-token context", len,
                       len / 256, g->model.cfg.n_ctx);
    if (tok_encode(g->tok, text, strlen(text), allow_special, &ids, &n, err)) return -1;
    int rc = gen_start_ids(g, ids, n, err);
    free(ids);
    return rc;
}

int gen_start_unconditional(Gen *g, Err *err) {
    int eot = tok_eot(g->tok);
    return gen_start_ids(g, &eot, 1, err);
}

int gen_choose(Gen *g, int forced) {
    if (!g->has_logits || g->trace.n_steps == 0) return -1;
    const int V = g->model.cfg.n_vocab;
    int id = forced;
    if (forced < 0 || forced >= V) {
        rng_seed_at(&g->rng, g->sampler.seed, g->trace.n_pos);
        id = sampler_pick(g->logits, V, &g->sampler, &g->rng, g->work);
    }
    TraceStep *s = &g->trace.steps[g->trace.n_steps - 1];
    /* probability under the model itself (temperature 1), whatever the sampler did */
    float max = g->logits[argmax(g->logits, V)];
    double sum = 0;
    for (int i = 0; i < V; i++) sum += expf(g->logits[i] - max);
    s->chosen = id;
    s->chosen_prob = (float)(expf(g->logits[id] - max) / sum);
    s->sampler = g->sampler;
    if (forced >= 0) s->sampler.greedy = -1; /* -1 marks a token picked by hand (a branch) */
    return id;
}

int gen_advance(Gen *g, Err *err) {
    if (g->trace.n_steps == 0) return err_set(err, "nothing to continue: start from a prompt first");
    TraceStep *last = &g->trace.steps[g->trace.n_steps - 1];
    if (last->chosen < 0) return err_set(err, "no token has been chosen at this step");
    int tok = last->chosen, pos = g->state.n_past;
    if (pos >= g->model.cfg.n_ctx)
        return err_set(err, "the context is full (%d tokens): the model cannot see further", g->model.cfg.n_ctx);
    if (check_trace_memory(g, 1, err)) return -1;
    trace_begin_step(&g->trace, pos, 1);
    int rc = forward_recorded(g, &tok, 1, err);
    if (rc) {
        g->trace.n_steps--;
        g->has_logits = 0;
    }
    return rc;
}

void gen_truncate(Gen *g, int n_pos) {
    trace_truncate(&g->trace, n_pos);
    gpt2_state_truncate(&g->state, n_pos);
    if (n_pos == 0) g->state.n_past = 0;
    g->has_logits = 0;
    /* The logits of the new last position are in the trace when it recorded them. */
    if (n_pos > 0 && g->trace.n_steps > 0) {
        const float *lg = trace_get(&g->trace, trace_id(&g->trace, TK_LOGITS, 0), n_pos - 1);
        if (lg) {
            memcpy(g->logits, lg, (size_t)g->model.cfg.n_vocab * sizeof(float));
            g->has_logits = 1;
        }
        g->trace.steps[g->trace.n_steps - 1].chosen = -1;
    }
}


void gen_set_interventions(Gen *g, const Interventions *iv) {
    g->state.iv = *iv;
    interventions_text(iv, g->trace.interventions, sizeof g->trace.interventions);
}

/* Each step's chosen token's probability, from the recorded (or deferred) probabilities. */
static void chosen_probs(Trace *tr) {
    const int id_probs = trace_id(tr, TK_PROBS, 0);
    for (int s = 0; s < tr->n_steps; s++) {
        TraceStep *st = &tr->steps[s];
        const float *pr = st->chosen >= 0 ? trace_get(tr, id_probs, st->pos0 + st->n_pos - 1) : NULL;
        st->chosen_prob = pr ? pr[st->chosen] : 0;
    }
}

int gen_replay(Gen *g, const int *tokens, int n_prompt, int n_steps, const int *chosen, const SamplerSettings *settings,
               Err *err) {
    const int n = n_prompt + n_steps - 1;
    gen_truncate(g, 0);
    if (n_prompt < 1 || n_steps < 1) return err_set(err, "nothing to replay");
    if (n > g->model.cfg.n_ctx)
        return err_set(err, "%d positions are more than the model's %d-token context", n, g->model.cfg.n_ctx);
    if (check_trace_memory(g, n, err) || prepare_means(g, tokens, n, err)) return -1;
    trace_begin_step(&g->trace, 0, n);
    int rc = forward_recorded(g, tokens, n, err);
    g->has_logits = rc == 0;
    if (rc) {
        gen_truncate(g, 0);
        return rc;
    }
    /* one pass ran every position; the trace gets the steps back: the prompt, then one per token */
    Trace *tr = &g->trace;
    tr->n_steps = 0;
    trace_begin_step(tr, 0, n_prompt);
    for (int s = 1; s < n_steps; s++) trace_begin_step(tr, n_prompt + s - 1, 1);
    for (int p = 0; p < n; p++) tr->pos[p].step = p < n_prompt ? 0 : p - n_prompt + 1;
    for (int s = 0; s < n_steps; s++) {
        tr->steps[s].chosen = chosen[s];
        tr->steps[s].sampler = settings[s];
    }
    chosen_probs(tr);
    return 0;
}

void gen_adopt_trace(Gen *g, Trace *tr) {
    const Gpt2Config *c = &g->model.cfg;
    const int C = c->n_embd, n = tr->n_pos;
    trace_free(&g->trace);
    g->trace = *tr;
    for (int l = 0; l < c->n_layer; l++)
        for (int p = 0; p < n; p++) {
            memcpy(gpt2_kv_row(&g->state, 0, l, p), trace_get(&g->trace, trace_id(&g->trace, TK_K, l), p), sizeof(float) * (size_t)C);
            memcpy(gpt2_kv_row(&g->state, 1, l, p), trace_get(&g->trace, trace_id(&g->trace, TK_V, l), p), sizeof(float) * (size_t)C);
        }
    g->state.n_past = n;
    const float *lg = n ? trace_get(&g->trace, trace_id(&g->trace, TK_LOGITS, 0), n - 1) : NULL;
    if (lg) memcpy(g->logits, lg, sizeof(float) * (size_t)c->n_vocab);
    g->has_logits = lg != NULL;
    interventions_text(&g->state.iv, g->trace.interventions, sizeof g->trace.interventions);
}

int gen_rerun_from(Gen *g, int first_layer, Err *err) {
    int rc = gpt2_forward_rerun(&g->state, first_layer, &g->trace, g->logits, err);
    g->has_logits = rc == 0;
    if (rc == 0) chosen_probs(&g->trace);
    return rc;
}
