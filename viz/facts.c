/* facts.c - the lesson language's facts: numbers of the model and of the screen, written {n_embd} in a
 * caption and checked by 'expect chosen_rank <= 5' (docs/lessons.md lists them). One table: each fact's
 * name, how many arguments it takes, its line in the docs and the function that reads it. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lesson.h"
#include "vizint.h"

/* One reading of a fact: what it reads from, and what it gives (text as a caption shows it, and the
 * number 'expect' compares; NAN when it has none, e.g. a token). */
typedef struct {
    VizState *v;
    const char *name;
    char (*args)[128];
    int pos;            /* the position the distribution describes (viz_dist_pos) */
    const float *probs; /* its probabilities, or NULL */
    char *text;
    size_t cap;
    double num;
    Err *err;
} FactCall;

typedef int (*FactFn)(FactCall *c);

typedef struct {
    const char *name;
    int n_args;      /* how many arguments follow the name (numbers, or one "quoted piece") */
    FactFn get;
    const char *doc; /* for docs/lessons.md */
} Fact;

/* ---- how a fact's value is written ---- */

static void with_commas(long x, char *buf, size_t cap) {
    char raw[32];
    snprintf(raw, sizeof raw, "%ld", x < 0 ? -x : x);
    size_t n = strlen(raw), k = 0;
    if (x < 0 && k + 1 < cap) buf[k++] = '-';
    for (size_t i = 0; i < n && k + 2 < cap; i++) {
        if (i && (n - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = raw[i];
    }
    buf[k] = 0;
}

static int as_count(FactCall *c, long x) {
    c->num = (double)x;
    with_commas(x, c->text, c->cap);
    return 0;
}

static int as_percent(FactCall *c, double p) {
    c->num = 100.0 * p;
    snprintf(c->text, c->cap, "%.1f%%", c->num);
    return 0;
}

static int as_number(FactCall *c, const char *fmt, double x) {
    c->num = x;
    snprintf(c->text, c->cap, fmt, x);
    return 0;
}

static int as_token(FactCall *c, int id) {
    char piece[128];
    viz_piece(c->v, id, piece, sizeof piece);
    snprintf(c->text, c->cap, "\"%s\"", piece);
    return 0;
}

/* ---- what they read ---- */

static const Gpt2Config *cfg(const FactCall *c) { return &c->v->run.gen.model.cfg; }
static const VizDerived *derived(const FactCall *c) { return &c->v->run.d; }

/* The token of a "quoted piece" argument (one the model has a row for), or -1 with a message. */
static int piece_arg(FactCall *c, int need_probs) {
    int id = tok_id_of_piece(c->v->run.gen.tok, c->args[0]);
    if (id < 0 || id >= cfg(c)->n_vocab) return err_set(c->err, "no single token is \"%s\"", c->args[0]);
    if (need_probs && !c->probs) return err_set(c->err, "no distribution at position %d", c->pos);
    return id;
}

static int f_model(FactCall *c) {
    snprintf(c->text, c->cap, "%s", c->v->run.gen.model.name);
    return 0;
}
static int f_n_layer(FactCall *c) { return as_count(c, cfg(c)->n_layer); }
static int f_n_head(FactCall *c) { return as_count(c, cfg(c)->n_head); }
static int f_n_embd(FactCall *c) { return as_count(c, cfg(c)->n_embd); }
static int f_head_size(FactCall *c) { return as_count(c, cfg(c)->n_embd / cfg(c)->n_head); }
static int f_sqrt_head_size(FactCall *c) { return as_number(c, "%.4g", sqrt(cfg(c)->n_embd / cfg(c)->n_head)); }
static int f_n_ctx(FactCall *c) { return as_count(c, cfg(c)->n_ctx); }
static int f_n_inner(FactCall *c) { return as_count(c, cfg(c)->n_inner); }
static int f_n_vocab(FactCall *c) { return as_count(c, cfg(c)->n_vocab); }
static int f_layer(FactCall *c) { return as_count(c, c->v->view.layer); }
static int f_head(FactCall *c) { return as_count(c, c->v->view.head); }
static int f_query(FactCall *c) { return as_count(c, viz_query_pos(c->v)); }
static int f_query_token(FactCall *c) { return as_token(c, c->v->run.gen.trace.pos[viz_query_pos(c->v)].token); }

/* The token chosen after the distribution's position, or -1 with a message. */
static int chosen_id(FactCall *c) {
    int id = viz_next_token(c->v, c->pos);
    if (id < 0 || !c->probs) return err_set(c->err, "no token comes after position %d yet", c->pos);
    return id;
}
static int f_chosen(FactCall *c) {
    int id = chosen_id(c);
    return id < 0 ? -1 : as_token(c, id);
}
static int f_chosen_rank(FactCall *c) { return chosen_id(c) < 0 ? -1 : as_count(c, derived(c)->chosen_rank + 1); }
static int f_chosen_p(FactCall *c) {
    int id = chosen_id(c);
    return id < 0 ? -1 : as_percent(c, c->probs[id]);
}

static int f_top1(FactCall *c) {
    if (!c->probs) return err_set(c->err, "no distribution at position %d", c->pos);
    return as_token(c, derived(c)->order[0]);
}
static int f_top1_p(FactCall *c) {
    if (!c->probs) return err_set(c->err, "no distribution at position %d", c->pos);
    return as_percent(c, c->probs[derived(c)->order[0]]);
}
static int f_entropy(FactCall *c) { return as_number(c, "%.2f nats", derived(c)->entropy); }

static int f_rank(FactCall *c) {
    int id = piece_arg(c, 1), r = 0, V = cfg(c)->n_vocab;
    if (id < 0) return -1;
    while (r < V && derived(c)->order[r] != id) r++;
    return as_count(c, r + 1);
}
static int f_p(FactCall *c) {
    int id = piece_arg(c, 1);
    return id < 0 ? -1 : as_percent(c, c->probs[id]);
}
static int f_clean_p(FactCall *c) {
    int id = piece_arg(c, 0);
    if (id < 0) return -1;
    float cp = viz_clean_prob(c->v, c->pos, id);
    if (cp < 0) return err_set(c->err, "clean_p: nothing is switched off here (use ablate first)");
    return as_percent(c, cp);
}

/* weight Q K / clean_weight Q K: the selected head's weight of query Q on key K, in this run or the other. */
static int weight_of(FactCall *c, int other) {
    VizState *v = c->v;
    long q = 0, k = 0;
    int n = viz_n_shown(v);
    if (parse_int(c->args[0], 0, n - 1, &q) || parse_int(c->args[1], 0, q, &k))
        return err_set(c->err, "%s %.20s %.20s: expected a query 0..%d and a key 0..query", c->name, c->args[0], c->args[1], n - 1);
    const float *w = viz_tensor(v, TK_WEIGHTS, v->view.layer, (int)q);
    if (other) { /* the other run's row, laid out as this run's */
        if (!viz_comparing(v)) return err_set(c->err, "clean_weight: there is no other run (use ablate or compare first)");
        RunShown keep = v->view.run_shown;
        v->view.run_shown = RUN_CLEAN;
        w = viz_tensor_shown(v, TK_WEIGHTS, v->view.layer, (int)q);
        v->view.run_shown = keep;
    }
    if (!w) return err_set(c->err, "no attention weights recorded");
    return as_percent(c, w[(size_t)v->view.head * v->run.gen.trace.pos[q].n_keys + k]);
}
static int f_weight(FactCall *c) { return weight_of(c, 0); }
static int f_clean_weight(FactCall *c) { return weight_of(c, 1); }

static int lens_layer(FactCall *c) {
    const VizDerived *d = derived(c);
    long L = -1;
    if (parse_int(c->args[0], 0, d->n_layers - 1, &L) || d->lens_id[L] < 0)
        return err_set(c->err, "lens %.20s: expected a layer 0..%d", c->args[0], d->n_layers - 1);
    return (int)L;
}
static int f_lens(FactCall *c) {
    int L = lens_layer(c);
    return L < 0 ? -1 : as_token(c, derived(c)->lens_id[L]);
}
static int f_lens_p(FactCall *c) {
    int L = lens_layer(c);
    return L < 0 ? -1 : as_percent(c, derived(c)->lens_p[L]);
}

static int f_value(FactCall *c) {
    const Trace *tr = &c->v->run.gen.trace;
    int id = trace_id_by_name(tr, c->args[0]), n_pos = viz_n_shown(c->v);
    long p = 0, idx = 0;
    if (id < 0) return err_set(c->err, "value: no tensor named '%.60s'", c->args[0]);
    if (parse_int(c->args[1], 0, n_pos - 1, &p))
        return err_set(c->err, "value %s %.20s: expected a position 0..%d", c->args[0], c->args[1], n_pos - 1);
    int64_t sh[2];
    int nd = trace_shape(tr, id, (int)p, sh);
    int64_t n = nd == 2 ? sh[0] * sh[1] : sh[0];
    const float *x = trace_get(tr, id, (int)p);
    if (!x) return err_set(c->err, "value: %s was not recorded at position %ld", c->args[0], p);
    if (parse_int(c->args[2], 0, (long)n - 1, &idx))
        return err_set(c->err, "value %s %ld %.20s: expected an element 0..%lld", c->args[0], p, c->args[2], (long long)n - 1);
    return as_number(c, "%.4g", x[idx]);
}

static int f_attr(FactCall *c) {
    const VizExperiment *e = &c->v->run.exp;
    if (e->kind != EXP_ATTRIBUTION) return err_set(c->err, "attr: no attribution has run (use attribute first)");
    const Attribution *a = &e->attr;
    const char *part = c->args[0], *rest;
    int L = cfg(c)->n_layer;
    long l = -1, h = -1;
    double x = NAN;
    if (!strcmp(part, "embed")) x = a->embed;
    else if (!strcmp(part, "logit")) x = a->logit;
    else if (parse_int_prefix(part, 0, L - 1, &l, &rest) == 0 && *rest == '.') {
        rest++;
        if (!strcmp(rest, "mlp")) x = a->mlp[l];
        else if (!strcmp(rest, "bias")) x = a->attn_bias[l];
        else if (parse_int(rest, 0, cfg(c)->n_head - 1, &h) == 0) x = a->heads[l * cfg(c)->n_head + h];
    }
    if (isnan(x)) return err_set(c->err, "attr '%s': expected L.H, L.mlp, L.bias (layers 0..%d), embed or logit", part, L - 1);
    return as_number(c, !strcmp(part, "logit") ? "%.2f" : "%+.2f", x);
}

/* The last patching sweep: any (heads -1), or one over heads (1) or over layers and positions (0). */
static const PatchSweep *sweep_of(FactCall *c, int heads) {
    const VizExperiment *e = &c->v->run.exp;
    if (heads < 0 && e->kind != EXP_PATCHING) {
        err_set(c->err, "%s: no patching sweep has run (use patch first)", c->name);
        return NULL;
    }
    if (heads >= 0 && (e->kind != EXP_PATCHING || (e->sweep.what == PATCH_HEAD) != heads)) {
        err_set(c->err, "%s: no %s patching sweep has run (use patch %s first)", c->name, heads ? "heads" : "resid or mlp", heads ? "heads" : "resid");
        return NULL;
    }
    if (heads >= 0 && e->sweep.too_close) {
        err_set(c->err, "%s: the last sweep had nothing to restore (clean %.3f and corrupted %.3f are less than %.1f apart)", c->name,
                e->sweep.clean_logit, e->sweep.corrupt_logit, METRIC_MIN_SPAN);
        return NULL;
    }
    return &e->sweep;
}
static int f_patch_clean(FactCall *c) {
    const PatchSweep *s = sweep_of(c, -1);
    return s ? as_number(c, "%.2f", s->clean_logit) : -1;
}
static int f_patch_corrupt(FactCall *c) {
    const PatchSweep *s = sweep_of(c, -1);
    return s ? as_number(c, "%.2f", s->corrupt_logit) : -1;
}
static int f_restored(FactCall *c) {
    const PatchSweep *s = sweep_of(c, 0);
    long r, col;
    if (!s) return -1;
    if (parse_int(c->args[0], 0, s->rows - 1, &r) || parse_int(c->args[1], 0, s->cols - 1, &col))
        return err_set(c->err, "restored: expected a layer and a position of the sweep");
    return as_number(c, "%.2f", s->restored[r * s->cols + col]);
}
static int f_restored_head(FactCall *c) {
    const PatchSweep *s = sweep_of(c, 1);
    const Gpt2Config *g = cfg(c);
    const char *rest;
    long l, h;
    if (!s) return -1;
    if (parse_int_prefix(c->args[0], 0, g->n_layer - 1, &l, &rest) || *rest != '.' || parse_int(rest + 1, 0, g->n_head - 1, &h) ||
        l * g->n_head + h >= s->rows)
        return err_set(c->err, "restored_head: expected L.H, a head of the model");
    return as_number(c, "%.2f", s->restored[(l * g->n_head + h) * s->cols]);
}

/* head_score KIND L.H: the head finder's score of a head (after 'heads'). */
static int f_head_score(FactCall *c) {
    const HeadScores *sc = c->v->run.head_scores;
    const Gpt2Config *g = cfg(c);
    if (!sc) return err_set(c->err, "head_score: the heads have not been scored (use heads first)");
    int kind = -1;
    for (int k = 0; k < HEAD_SCORES; k++)
        if (!strcmp(c->args[0], HEAD_SCORE_NAMES[k])) kind = k;
    const char *rest;
    long l, h;
    if (kind < 0) return err_set(c->err, "head_score %.20s: expected previous, first, induction or duplicate", c->args[0]);
    if (parse_int_prefix(c->args[1], 0, g->n_layer - 1, &l, &rest) || *rest != '.' || parse_int(rest + 1, 0, g->n_head - 1, &h))
        return err_set(c->err, "head_score %s %.20s: expected L.H, a head of the model", c->args[0], c->args[1]);
    return as_number(c, "%.2f", head_score(&sc[l * g->n_head + h], kind));
}

static const Fact FACTS[] = {
    {"model", 0, f_model, "the model's name"},
    {"n_layer", 0, f_n_layer, "layers"},
    {"n_head", 0, f_n_head, "heads per layer"},
    {"n_embd", 0, f_n_embd, "the width of every vector (768 in GPT-2 small)"},
    {"head_size", 0, f_head_size, "n_embd / n_head (64 in every GPT-2)"},
    {"sqrt_head_size", 0, f_sqrt_head_size, "its square root, what scores are divided by"},
    {"n_ctx", 0, f_n_ctx, "the context: positions it can see"},
    {"n_inner", 0, f_n_inner, "the feed-forward layer's width"},
    {"n_vocab", 0, f_n_vocab, "tokens in the vocabulary"},
    {"layer", 0, f_layer, "the selected layer"},
    {"head", 0, f_head, "the selected head"},
    {"query", 0, f_query, "the selected query position"},
    {"query_token", 0, f_query_token, "its token"},
    {"chosen", 0, f_chosen, "the token chosen after the query position (or the one that came next)"},
    {"chosen_rank", 0, f_chosen_rank, "its rank in the model's distribution (1 = most likely)"},
    {"chosen_p", 0, f_chosen_p, "its probability, in %"},
    {"top1", 0, f_top1, "the most likely next token"},
    {"top1_p", 0, f_top1_p, "its probability, in %"},
    {"entropy", 0, f_entropy, "the model's entropy there, in nats"},
    {"rank", 1, f_rank, "rank \" piece\": the rank of that token"},
    {"p", 1, f_p, "p \" piece\": its probability, in %"},
    {"clean_p", 1, f_clean_p, "clean_p \" piece\": its probability with nothing switched off (while an ablation is on), in %"},
    {"weight", 2, f_weight, "weight Q K: the selected head's attention weight of query Q on key K, in %"},
    {"clean_weight", 2, f_clean_weight, "clean_weight Q K: the same in the run compared with (the clean run while parts are off), in %"},
    {"lens", 1, f_lens, "lens L: the logit lens's top token after layer L"},
    {"lens_p", 1, f_lens_p, "lens_p L: its probability, in %"},
    {"value", 3, f_value, "value NAME P I: element I of tensor NAME (h.3.attn.weights, tok_emb...) at position P"},
    {"attr", 1, f_attr, "attr PART: the last attribution's contribution of PART (L.H a head, L.mlp, L.bias, embed, logit)"},
    {"restored", 2, f_restored, "restored L P: the last residual or MLP patching sweep's value at layer L, position P"},
    {"patch_clean", 0, f_patch_clean, "the last patching sweep's metric (the target's logit, or a difference of two) in the clean text (this one)"},
    {"patch_corrupt", 0, f_patch_corrupt, "... and in the corrupted text (B)"},
    {"head_score", 2, f_head_score, "head_score KIND L.H: the head finder's score of head H of layer L (KIND: previous, first, induction, duplicate), 0..1"},
    {"restored_head", 1, f_restored_head, "restored_head L.H: the last heads patching sweep's value for head H of layer L"},
};
#define N_FACTS ((int)(sizeof FACTS / sizeof FACTS[0]))

static const Fact *fact_by_name(const char *name, size_t n) {
    for (int i = 0; i < N_FACTS; i++)
        if (strlen(FACTS[i].name) == n && !strncmp(FACTS[i].name, name, n)) return &FACTS[i];
    return NULL;
}

int lesson_fact_known(const char *name) { return fact_by_name(name, strlen(name)) != NULL; }

/* Splits "name arg arg" (an argument may be a "quoted piece"): returns the fact and fills args. */
static const Fact *parse_fact(const char *expr, char args[3][128], Err *err) {
    while (*expr == ' ') expr++;
    size_t n = strcspn(expr, " ");
    const Fact *f = fact_by_name(expr, n);
    if (!f) {
        err_set(err, "unknown fact '%.*s' (docs/lessons.md lists them: n_embd, head_size, chosen_rank, weight Q K...)", (int)n, expr);
        return NULL;
    }
    const char *p = expr + n;
    int n_args = 0;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (n_args == 3) {
            err_set(err, "'%s' takes %d argument%s", f->name, f->n_args, f->n_args == 1 ? "" : "s");
            return NULL;
        }
        char *a = args[n_args++];
        size_t k = 0;
        if (*p == '"') {
            p++;
            while (*p && *p != '"' && k < 127) a[k++] = *p++;
            if (*p != '"') {
                err_set(err, "a quoted piece is not closed");
                return NULL;
            }
            p++;
        } else {
            while (*p && *p != ' ' && k < 127) a[k++] = *p++;
        }
        a[k] = 0;
    }
    if (n_args != f->n_args) {
        err_set(err, "'%s' takes %d argument%s, got %d", f->name, f->n_args, f->n_args == 1 ? "" : "s", n_args);
        return NULL;
    }
    return f;
}

int lesson_fact_check(const char *expr, Err *err) {
    char args[3][128];
    return parse_fact(expr, args, err) ? 0 : -1;
}

int lesson_fact(VizState *v, const char *expr, char *text, size_t cap, double *num, Err *err) {
    char args[3][128];
    const Fact *f = parse_fact(expr, args, err);
    *num = NAN;
    text[0] = 0;
    if (!f) return -1;
    if (!v->run.loaded || viz_n_shown(v) == 0) return err_set(err, "no model has run");
    viz_prepare(v);
    int pos = viz_dist_pos(v);
    FactCall c = {v, f->name, args, pos, viz_tensor(v, TK_PROBS, 0, pos), text, cap, NAN, err};
    if (f->get(&c)) {
        text[0] = 0;
        return -1;
    }
    *num = c.num;
    return 0;
}
