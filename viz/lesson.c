/* lesson.c - the lesson language: parsing with file:line:column errors, replaying a step exactly,
 * playing in the window (clicker keys), and exporting every step as a PDF page or PNG. */
#define _GNU_SOURCE
#include "lesson.h"

#include <cairo-pdf.h>
#include <ctype.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include "app.h"
#include "cli.h"
#include "vizint.h"

static int lesson_err(Err *err, const char *path, int line, int col, const char *fmt, const char *a, const char *b) {
    char msg[800];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return err_set(err, "%s:%d:%d: %s", path, line, col, msg);
}

static void add_item(Lesson *l, LessonItemKind kind, int line, int col, int arg_col, const char *text) {
    l->items = xrealloc(l->items, sizeof(LessonItem) * (size_t)(l->n_items + 1));
    l->items[l->n_items++] = (LessonItem){kind, line, col, arg_col, xstrdup(text), ""};
}

static void end_step(Lesson *l) {
    l->step_end = xrealloc(l->step_end, sizeof(int) * (size_t)(l->n_steps + 1));
    l->step_end[l->n_steps++] = l->n_items;
}

/* Checks a command line's form against the viewer's command table; errors point at the argument. */
static int check_command(const Lesson *l, int line, const char *text, int col, Err *err) {
    Err e;
    int arg_col = 1;
    if (viz_command_check(text, &e, &arg_col) == 0) return 0;
    int c = strncmp(e.msg, "unknown command", 15) == 0 ? col : col + arg_col - 1;
    return err_set(err, "%s:%d:%d: %s", l->path, line, c, e.msg);
}

/* ---- model facts: {name args} in captions, and the numbers 'expect' checks ---- */

typedef struct {
    const char *name;
    int n_args;      /* how many arguments follow the name (numbers, or one "quoted piece") */
    const char *doc; /* for docs/lessons.md */
} Fact;

static const Fact FACTS[] = {
    {"model", 0, "the model's name"},
    {"n_layer", 0, "layers"},
    {"n_head", 0, "heads per layer"},
    {"n_embd", 0, "the width of every vector (768 in GPT-2 small)"},
    {"head_size", 0, "n_embd / n_head (64 in every GPT-2)"},
    {"sqrt_head_size", 0, "its square root, what scores are divided by"},
    {"n_ctx", 0, "the context: positions it can see"},
    {"n_inner", 0, "the feed-forward layer's width"},
    {"n_vocab", 0, "tokens in the vocabulary"},
    {"layer", 0, "the selected layer"},
    {"head", 0, "the selected head"},
    {"query", 0, "the selected query position"},
    {"query_token", 0, "its token"},
    {"chosen", 0, "the token chosen after the query position (or the one that came next)"},
    {"chosen_rank", 0, "its rank in the model's distribution (1 = most likely)"},
    {"chosen_p", 0, "its probability, in %"},
    {"top1", 0, "the most likely next token"},
    {"top1_p", 0, "its probability, in %"},
    {"entropy", 0, "the model's entropy there, in nats"},
    {"rank", 1, "rank \" piece\": the rank of that token"},
    {"p", 1, "p \" piece\": its probability, in %"},
    {"clean_p", 1, "clean_p \" piece\": its probability with nothing switched off (while an ablation is on), in %"},
    {"weight", 2, "weight Q K: the selected head's attention weight of query Q on key K, in %"},
    {"clean_weight", 2, "clean_weight Q K: the same in the run compared with (the clean run while parts are off), in %"},
    {"lens", 1, "lens L: the logit lens's top token after layer L"},
    {"lens_p", 1, "lens_p L: its probability, in %"},
    {"value", 3, "value NAME P I: element I of tensor NAME (h.3.attn.weights, tok_emb...) at position P"},
    {"attr", 1, "attr PART: the last attribution's contribution of PART (L.H a head, L.mlp, L.bias, embed, logit)"},
    {"restored", 2, "restored L P: the last residual or MLP patching sweep's value at layer L, position P"},
    {"patch_clean", 0, "the last patching sweep's target logit in the clean text (this one)"},
    {"patch_corrupt", 0, "... and in the corrupted text (B)"},
    {"restored_head", 1, "restored_head L.H: the last heads patching sweep's value for head H of layer L"},
};
#define N_FACTS ((int)(sizeof FACTS / sizeof FACTS[0]))

static const Fact *fact_by_name(const char *name, size_t n) {
    for (int i = 0; i < N_FACTS; i++)
        if (strlen(FACTS[i].name) == n && !strncmp(FACTS[i].name, name, n)) return &FACTS[i];
    return NULL;
}

int lesson_fact_known(const char *name) { return fact_by_name(name, strlen(name)) != NULL; }

/* Splits "name arg arg" (an argument may be a "quoted piece"): returns the fact and fills args. */
static const Fact *parse_fact(const char *expr, char args[3][128], int *n_args, Err *err) {
    while (*expr == ' ') expr++;
    size_t n = strcspn(expr, " ");
    const Fact *f = fact_by_name(expr, n);
    if (!f) {
        err_set(err, "unknown fact '%.*s' (docs/lessons.md lists them: n_embd, head_size, chosen_rank, weight Q K...)", (int)n, expr);
        return NULL;
    }
    const char *p = expr + n;
    *n_args = 0;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        if (*n_args == 3) {
            err_set(err, "'%s' takes %d argument%s", f->name, f->n_args, f->n_args == 1 ? "" : "s");
            return NULL;
        }
        char *a = args[(*n_args)++];
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
    if (*n_args != f->n_args) {
        err_set(err, "'%s' takes %d argument%s, got %d", f->name, f->n_args, f->n_args == 1 ? "" : "s", *n_args);
        return NULL;
    }
    return f;
}

/* Every {fact} of a caption, checked when the file is read. */
static int check_facts(const Lesson *l, int line, int col, const char *text, Err *err) {
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e) return err_set(err, "%s:%d:%d: '{' without '}' (a fact is written {n_embd})", l->path, line, col + (int)(p - text));
        char expr[256], args[3][128];
        int na;
        snprintf(expr, sizeof expr, "%.*s", (int)(e - p - 1), p + 1);
        Err e2;
        if (!parse_fact(expr, args, &na, &e2)) return err_set(err, "%s:%d:%d: %s", l->path, line, col + (int)(p - text) + 1, e2.msg);
    }
    return 0;
}

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

static int piece_id(const VizState *v, const char *piece) {
    int id = tok_id_of_piece(v->run.gen.tok, piece);
    return id < v->run.gen.model.cfg.n_vocab ? id : -1; /* a token the model has a row for */
}

int lesson_fact(VizState *v, const char *expr, char *text, size_t cap, double *num, Err *err) {
    char args[3][128], piece[128];
    int na;
    const Fact *f = parse_fact(expr, args, &na, err);
    if (!f) return -1;
    if (!v->run.loaded || viz_n_shown(v) == 0) return err_set(err, "no model has run");
    viz_prepare(v);
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const VizDerived *d = &v->run.d;
    int pos = viz_dist_pos(v), V = c->n_vocab, hs = c->n_embd / c->n_head;
    const float *probs = viz_tensor(v, TK_PROBS, 0, pos);
    long iv = 0;
    double x = NAN;
    const char *name = f->name;
    *num = NAN;
    text[0] = 0;
#define INT_FACT(s, val) else if (!strcmp(name, s)) iv = (val), x = (double)iv
    if (!strcmp(name, "model")) snprintf(text, cap, "%s", v->run.gen.model.name);
    INT_FACT("n_layer", c->n_layer);
    INT_FACT("n_head", c->n_head);
    INT_FACT("n_embd", c->n_embd);
    INT_FACT("head_size", hs);
    INT_FACT("n_ctx", c->n_ctx);
    INT_FACT("n_inner", c->n_inner);
    INT_FACT("n_vocab", V);
    INT_FACT("layer", v->view.layer);
    INT_FACT("head", v->view.head);
    INT_FACT("query", viz_query_pos(v));
#undef INT_FACT
    else if (!strcmp(name, "sqrt_head_size")) x = sqrt(hs), snprintf(text, cap, "%.4g", x);
    else if (!strcmp(name, "query_token")) viz_piece(v, v->run.gen.trace.pos[viz_query_pos(v)].token, piece, sizeof piece), snprintf(text, cap, "\"%s\"", piece);
    else if (!strcmp(name, "chosen") || !strcmp(name, "chosen_rank") || !strcmp(name, "chosen_p")) {
        int id = viz_next_token(v, pos);
        if (id < 0 || !probs) return err_set(err, "no token comes after position %d yet", pos);
        if (!strcmp(name, "chosen")) viz_piece(v, id, piece, sizeof piece), snprintf(text, cap, "\"%s\"", piece);
        else if (!strcmp(name, "chosen_rank")) iv = d->chosen_rank + 1, x = (double)iv;
        else x = 100.0 * probs[id], snprintf(text, cap, "%.1f%%", x);
    } else if (!strcmp(name, "top1") || !strcmp(name, "top1_p")) {
        if (!probs) return err_set(err, "no distribution at position %d", pos);
        int id = d->order[0];
        if (!strcmp(name, "top1")) viz_piece(v, id, piece, sizeof piece), snprintf(text, cap, "\"%s\"", piece);
        else x = 100.0 * probs[id], snprintf(text, cap, "%.1f%%", x);
    } else if (!strcmp(name, "entropy")) x = d->entropy, snprintf(text, cap, "%.2f nats", x);
    else if (!strcmp(name, "rank") || !strcmp(name, "p")) {
        int id = piece_id(v, args[0]);
        if (id < 0) return err_set(err, "no single token is \"%s\"", args[0]);
        if (!probs) return err_set(err, "no distribution at position %d", pos);
        if (!strcmp(name, "p")) x = 100.0 * probs[id], snprintf(text, cap, "%.1f%%", x);
        else {
            int r = 0;
            while (r < V && d->order[r] != id) r++;
            iv = r + 1, x = (double)iv;
        }
    } else if (!strcmp(name, "clean_p")) {
        int id = piece_id(v, args[0]);
        if (id < 0) return err_set(err, "no single token is \"%s\"", args[0]);
        float cp = viz_clean_prob(v, pos, id);
        if (cp < 0) return err_set(err, "clean_p: nothing is switched off here (use ablate first)");
        x = 100.0 * cp, snprintf(text, cap, "%.1f%%", x);
    } else if (!strcmp(name, "weight") || !strcmp(name, "clean_weight")) {
        long q = 0, k = 0;
        int n = viz_n_shown(v);
        if (parse_int(args[0], 0, n - 1, &q) || parse_int(args[1], 0, q, &k))
            return err_set(err, "%s %.20s %.20s: expected a query 0..%d and a key 0..query", name, args[0], args[1], n - 1);
        const float *w = viz_tensor(v, TK_WEIGHTS, v->view.layer, q);
        if (!strcmp(name, "clean_weight")) { /* the other run's row, laid out as this run's */
            if (!viz_comparing(v)) return err_set(err, "clean_weight: there is no other run (use ablate or compare first)");
            RunShown keep = v->view.run_shown;
            v->view.run_shown = RUN_CLEAN;
            w = viz_tensor_shown(v, TK_WEIGHTS, v->view.layer, q);
            v->view.run_shown = keep;
        }
        if (!w) return err_set(err, "no attention weights recorded");
        x = 100.0 * w[(size_t)v->view.head * v->run.gen.trace.pos[q].n_keys + k];
        snprintf(text, cap, "%.1f%%", x);
    } else if (!strcmp(name, "value")) {
        const Trace *tr = &v->run.gen.trace;
        int id = trace_id_by_name(tr, args[0]);
        long p = 0, idx = 0;
        if (id < 0) return err_set(err, "value: no tensor named '%.60s'", args[0]);
        if (parse_int(args[1], 0, viz_n_shown(v) - 1, &p))
            return err_set(err, "value %s %.20s: expected a position 0..%d", args[0], args[1], viz_n_shown(v) - 1);
        int64_t sh[2];
        int nd = trace_shape(tr, id, (int)p, sh);
        int64_t n = nd == 2 ? sh[0] * sh[1] : sh[0];
        const float *x = trace_get(tr, id, (int)p);
        if (!x) return err_set(err, "value: %s was not recorded at position %ld", args[0], p);
        if (parse_int(args[2], 0, (long)n - 1, &idx))
            return err_set(err, "value %s %ld %.20s: expected an element 0..%lld", args[0], p, args[2], (long long)n - 1);
        x += idx;
        *num = *x;
        snprintf(text, cap, "%.4g", *x);
        return 0;
    } else if (!strcmp(name, "attr")) {
        const VizExperiment *e = &v->run.exp;
        if (e->kind != EXP_ATTRIBUTION) return err_set(err, "attr: no attribution has run (use attribute first)");
        const Attribution *a = &e->attr;
        int L = c->n_layer;
        long l = -1, h = -1;
        const char *rest;
        if (!strcmp(args[0], "embed")) x = a->embed;
        else if (!strcmp(args[0], "logit")) x = a->logit;
        else if (parse_int_prefix(args[0], 0, L - 1, &l, &rest) == 0 && *rest == '.') {
            rest++;
            if (!strcmp(rest, "mlp")) x = a->mlp[l];
            else if (!strcmp(rest, "bias")) x = a->attn_bias[l];
            else if (parse_int(rest, 0, c->n_head - 1, &h) == 0) x = a->heads[l * c->n_head + h];
        }
        if (isnan(x)) return err_set(err, "attr '%s': expected L.H, L.mlp, L.bias (layers 0..%d), embed or logit", args[0], L - 1);
        snprintf(text, cap, !strcmp(args[0], "logit") ? "%.2f" : "%+.2f", x);
        *num = x;
        return 0;
    } else if (!strcmp(name, "patch_clean") || !strcmp(name, "patch_corrupt")) {
        const VizExperiment *e = &v->run.exp;
        if (e->kind != EXP_PATCHING) return err_set(err, "%s: no patching sweep has run (use patch first)", name);
        x = !strcmp(name, "patch_clean") ? e->sweep.clean_logit : e->sweep.corrupt_logit;
        snprintf(text, cap, "%.2f", x);
        *num = x;
        return 0;
    } else if (!strcmp(name, "restored") || !strcmp(name, "restored_head")) {
        const VizExperiment *e = &v->run.exp;
        int head = !strcmp(name, "restored_head");
        if (e->kind != EXP_PATCHING || (e->sweep.what == PATCH_HEAD) != head)
            return err_set(err, "%s: no %s patching sweep has run (use patch %s first)", name, head ? "heads" : "resid or mlp", head ? "heads" : "resid");
        int r = -1, col = 0;
        if (head) {
            long l, h;
            const char *rest;
            if (parse_int_prefix(args[0], 0, c->n_layer - 1, &l, &rest) == 0 && *rest == '.' && parse_int(rest + 1, 0, c->n_head - 1, &h) == 0)
                r = (int)(l * c->n_head + h);
        } else {
            long lr, lc;
            if (parse_int(args[0], 0, e->sweep.rows - 1, &lr) == 0 && parse_int(args[1], 0, e->sweep.cols - 1, &lc) == 0)
                r = (int)lr, col = (int)lc;
        }
        if (r < 0 || r >= e->sweep.rows)
            return err_set(err, "%s: expected %s", name, head ? "L.H, a head of the model" : "a layer and a position of the sweep");
        x = e->sweep.restored[r * e->sweep.cols + col];
        snprintf(text, cap, "%.2f", x);
        *num = x;
        return 0;
    } else if (!strcmp(name, "lens") || !strcmp(name, "lens_p")) {
        long L = -1;
        if (parse_int(args[0], 0, d->n_layers - 1, &L) || d->lens_id[L] < 0)
            return err_set(err, "lens %.20s: expected a layer 0..%d", args[0], d->n_layers - 1);
        if (!strcmp(name, "lens")) viz_piece(v, d->lens_id[L], piece, sizeof piece), snprintf(text, cap, "\"%s\"", piece);
        else x = 100.0 * d->lens_p[L], snprintf(text, cap, "%.1f%%", x);
    }
    if (!text[0] && !isnan(x)) with_commas(iv, text, cap);
    *num = x;
    return 0;
}

/* Replaces every {fact} of text by its value on the running model. */
static int expand_facts(VizState *v, const char *text, char *out, size_t cap, const char **bad, Err *err) {
    size_t k = 0;
    for (const char *p = text; *p && k + 1 < cap;) {
        if (*p == '{') {
            const char *e = strchr(p, '}');
            char expr[256], val[256];
            double num;
            snprintf(expr, sizeof expr, "%.*s", (int)(e - p - 1), p + 1);
            if (lesson_fact(v, expr, val, sizeof val, &num, err)) {
                *bad = p;
                return -1;
            }
            k += (size_t)snprintf(out + k, cap - k, "%s", val);
            p = e + 1;
        } else {
            out[k++] = *p++;
        }
    }
    out[k < cap ? k : cap - 1] = 0;
    return 0;
}

/* expect FACT OP NUMBER */
static int split_expect(const char *arg, char *fact, size_t cap, char *op, double *want) {
    static const char *OPS[] = {"<=", ">=", "==", "!=", "<", ">"};
    for (const char *p = arg; *p; p++) {
        if (*p == '"') { /* skip a quoted piece */
            const char *e = strchr(p + 1, '"');
            if (!e) return -1;
            p = e;
            continue;
        }
        for (int i = 0; i < 6; i++)
            if (!strncmp(p, OPS[i], strlen(OPS[i]))) {
                int fl = (int)(p - arg);
                while (fl > 0 && arg[fl - 1] == ' ') fl--;
                snprintf(fact, cap, "%.*s", fl, arg);
                snprintf(op, 3, "%s", OPS[i]);
                char *end;
                *want = strtod(p + strlen(OPS[i]), &end);
                while (*end == ' ') end++;
                return end == p + strlen(OPS[i]) || *end ? -1 : 0;
            }
    }
    return -1;
}

static int check_expect(const Lesson *l, int line, int col, const char *arg, Err *err) {
    char fact[256], op[3], args[3][128];
    double want;
    int na;
    if (split_expect(arg, fact, sizeof fact, op, &want))
        return err_set(err, "%s:%d:%d: expected 'expect FACT OP NUMBER' (e.g. 'expect chosen_rank <= 5'), got '%s'", l->path, line, col, arg);
    Err e2;
    if (!parse_fact(fact, args, &na, &e2)) return err_set(err, "%s:%d:%d: %s", l->path, line, col, e2.msg);
    return 0;
}

static int run_expect(const Lesson *l, const LessonItem *it, VizState *v, Err *err) {
    char fact[256], op[3], text[256];
    double want, got;
    split_expect(it->text, fact, sizeof fact, op, &want);
    Err e2;
    if (lesson_fact(v, fact, text, sizeof text, &got, &e2)) return err_set(err, "%s:%d:%d: %s", l->path, it->line, it->arg_col, e2.msg);
    int ok = !strcmp(op, "<") ? got < want : !strcmp(op, "<=") ? got <= want : !strcmp(op, ">") ? got > want
           : !strcmp(op, ">=") ? got >= want : !strcmp(op, "==") ? got == want : got != want;
    if (!ok)
        return err_set(err, "%s:%d:%d: expected %s %s %g, but on %s it is %g", l->path, it->line, it->arg_col, fact, op, want,
                       v->run.gen.model.name, got);
    return 0;
}

static int cond_holds(const LessonItem *it, const VizState *v) {
    return !it->cond[0] || !strncasecmp(v->run.gen.model.name, it->cond, strlen(it->cond));
}

/* Picks the first model of "A or B or C" that exists (a directory, or a name under models/). */
static int choose_model(Lesson *l, const char *arg, int line, int col, Err *err) {
    snprintf(l->models, sizeof l->models, "%s", arg);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", arg);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        if (!strcasecmp(tok, "or")) continue;
        Err probe;
        char *dir = gpt2_resolve_model(tok, &probe);
        if (dir) {
            free(dir);
            snprintf(l->model, sizeof l->model, "%s", tok);
            return 0;
        }
    }
    return lesson_err(err, l->path, line, col, "none of the models '%s' is available (download one with 'make gpt2', "
                      "or name models/storybook)%s", arg, NULL);
}

int lesson_load(Lesson *l, const char *path, Err *err) {
    memset(l, 0, sizeof *l);
    l->shown = -1;
    l->path = xstrdup(path);
    char *data;
    size_t len;
    if (read_file(path, &data, &len, err)) {
        lesson_free(l);
        return -1;
    }
    size_t bad;
    if (!utf8_valid(data, len, &bad)) {
        int line = 1, col = 1;
        for (size_t i = 0; i < bad; i++) {
            if (data[i] == '\n') line++, col = 1;
            else if (((unsigned char)data[i] & 0xC0) != 0x80) col++;
        }
        free(data);
        lesson_free(l);
        return err_set(err, "%s:%d:%d: the file is not valid UTF-8", path, line, col);
    }
    int rc = 0, line_no = 0, in_steps = 0, pending_ask = 0, ask_line = 0;
    char *p = data;
    while (rc == 0 && p && *p) {
        char *nl = strchr(p, '\n');
        if (nl) *nl = 0;
        line_no++;
        size_t n = strlen(p);
        if (n && p[n - 1] == '\r') p[--n] = 0;
        int ind = 0;
        while (p[ind] == ' ' || p[ind] == '\t') ind++;
        char *s = p + ind;
        for (size_t m = strlen(s); m > 0 && (s[m - 1] == ' ' || s[m - 1] == '\t');) s[--m] = 0;
        int col = ind + 1;
        if (!*s) {
            /* blank */
        } else if (s[0] == '#' && s[1] == '#') { /* ## heading: a new step */
            if (pending_ask) { rc = lesson_err(err, path, ask_line, 1, "'ask' has no 'answer' before the next step%s%s", NULL, NULL); break; }
            if (in_steps) end_step(l);
            in_steps = 1;
            char *h = s + 2;
            while (*h == ' ' || *h == '#') h++;
            if ((rc = check_facts(l, line_no, col + (int)(h - s), h, err))) break;
            add_item(l, LI_HEADING, line_no, col, col + (int)(h - s), h);
        } else if (s[0] == '#') {
            /* a comment */
        } else if (s[0] == '>') {
            if (!in_steps) { rc = lesson_err(err, path, line_no, col, "a caption line must be inside a step: start one with '## heading'%s%s", NULL, NULL); break; }
            char *t = s + 1, cond[64] = "";
            if (*t == '[') { /* >[NAME] text: only on models whose name starts with NAME */
                char *e = strchr(t, ']');
                if (!e || e - t - 1 < 1 || e - t - 1 >= (int)sizeof cond) {
                    rc = lesson_err(err, path, line_no, col + 1, "expected '>[MODEL] text' (a model name in brackets)%s%s", NULL, NULL);
                    break;
                }
                snprintf(cond, sizeof cond, "%.*s", (int)(e - t - 1), t + 1);
                t = e + 1;
            }
            if (*t == ' ') t++;
            if ((rc = check_facts(l, line_no, col + (int)(t - s), t, err))) break;
            add_item(l, LI_CAPTION, line_no, col, col + (int)(t - s), t);
            snprintf(l->items[l->n_items - 1].cond, sizeof cond, "%s", cond);
        } else {
            char cmd[64];
            int k = 0;
            while (s[k] && s[k] != ' ' && s[k] != '\t' && k < 63) cmd[k] = (char)tolower((unsigned char)s[k]), k++;
            cmd[k] = 0;
            char *arg = s + k;
            while (*arg == ' ' || *arg == '\t') arg++;
            int arg_col = col + (int)(arg - s);
            if (!strcmp(cmd, "title")) {
                if (in_steps) { rc = lesson_err(err, path, line_no, col, "'title' belongs before the first step (## heading)%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'title' expects the lesson's title%s%s", NULL, NULL); break; }
                snprintf(l->title, sizeof l->title, "%s", arg);
            } else if (!strcmp(cmd, "model")) {
                if (in_steps) { rc = lesson_err(err, path, line_no, col, "'model' belongs before the first step (## heading)%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'model' expects a model name, e.g. 'model gpt2 or storybook'%s%s", NULL, NULL); break; }
                rc = choose_model(l, arg, line_no, arg_col, err);
            } else if (!strncmp(cmd, "expect", 6) && (cmd[6] == 0 || cmd[6] == '[')) {
                char cond[64] = "";
                if (cmd[6] == '[') {
                    const char *e = strchr(s + 6, ']');
                    if (!e || e - s - 7 < 1 || e - s - 7 >= (int)sizeof cond) {
                        rc = lesson_err(err, path, line_no, col + 6, "expected 'expect[MODEL] FACT OP NUMBER'%s%s", NULL, NULL);
                        break;
                    }
                    snprintf(cond, sizeof cond, "%.*s", (int)(e - s - 7), s + 7);
                    arg = (char *)e + 1;
                    while (*arg == ' ') arg++;
                    arg_col = col + (int)(arg - s);
                }
                if (!in_steps) { rc = lesson_err(err, path, line_no, col, "'expect' must be inside a step%s%s", NULL, NULL); break; }
                if ((rc = check_expect(l, line_no, arg_col, arg, err))) break;
                add_item(l, LI_EXPECT, line_no, col, arg_col, arg);
                snprintf(l->items[l->n_items - 1].cond, sizeof cond, "%s", cond);
            } else if (!strcmp(cmd, "pause")) {
                if (!in_steps) { rc = lesson_err(err, path, line_no, col, "'pause' must be inside a step%s%s", NULL, NULL); break; }
                if (*arg) { rc = lesson_err(err, path, line_no, arg_col, "'pause' takes no argument, found '%s'%s", arg, NULL); break; }
                end_step(l);
                add_item(l, LI_PAUSE, line_no, col, arg_col, "");
            } else if (!strcmp(cmd, "ask")) {
                if (!in_steps) { rc = lesson_err(err, path, line_no, col, "'ask' must be inside a step%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'ask' expects a question%s%s", NULL, NULL); break; }
                if (pending_ask) {
                    char at[16];
                    snprintf(at, sizeof at, "%d", ask_line);
                    rc = lesson_err(err, path, line_no, col, "a second 'ask' before the 'answer' to the one on line %s%s", at, NULL);
                    break;
                }
                if ((rc = check_facts(l, line_no, arg_col, arg, err))) break;
                add_item(l, LI_ASK, line_no, col, arg_col, arg);
                pending_ask = 1, ask_line = line_no;
            } else if (!strcmp(cmd, "answer")) {
                if (!pending_ask) { rc = lesson_err(err, path, line_no, col, "'answer' without an 'ask' before it%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'answer' expects the answer's text%s%s", NULL, NULL); break; }
                if ((rc = check_facts(l, line_no, arg_col, arg, err))) break;
                end_step(l); /* the question is one click, the answer the next */
                add_item(l, LI_ANSWER, line_no, col, arg_col, arg);
                pending_ask = 0;
            } else {
                rc = check_command(l, line_no, s, col, err);
                if (rc == 0) add_item(l, LI_COMMAND, line_no, col, arg_col, s);
            }
        }
        p = nl ? nl + 1 : NULL;
    }
    free(data);
    if (rc == 0 && pending_ask) rc = lesson_err(err, path, ask_line, 1, "'ask' has no 'answer'%s%s", NULL, NULL);
    if (rc == 0 && !in_steps) rc = lesson_err(err, path, line_no > 0 ? line_no : 1, 1, "the lesson has no steps: start each with a '## heading' line%s%s", NULL, NULL);
    if (rc == 0) end_step(l);
    if (rc == 0 && !l->title[0]) snprintf(l->title, sizeof l->title, "%s", path);
    if (rc) lesson_free(l);
    return rc;
}

void lesson_free(Lesson *l) {
    for (int i = 0; i < l->n_items; i++) free(l->items[i].text);
    free(l->items);
    free(l->step_end);
    free(l->path);
    memset(l, 0, sizeof *l);
}

/* Puts the viewer back to its defaults, keeping the loaded model. */
static void reset_view(VizState *v) {
    if (v->run.gen.state.iv.n) { /* nothing switched off: the script starts from the clean model */
        Err e;
        if (!v->run.loaded || viz_ablate(v, "clear", &e)) v->run.gen.state.iv.n = 0;
    }
    viz_view_defaults(&v->view);
    v->run.step = 0;
    v->ui.message[0] = 0;
    v->run.gen.sampler = sampler_default();
    free(v->run.prompt);
    v->run.prompt = xstrdup("Once upon a time there was a");
}

/* Whether the viewer is exactly as lesson_show left it (no key or command changed it since). */
static int untouched(const Lesson *l, const VizState *v) {
    return l->shown >= 0 && v->run.epoch == l->shown_epoch && v->run.step == l->shown_run_step &&
           v->run.branch == l->shown_branch && !memcmp(&v->run.gen.sampler, &l->shown_sampler, sizeof l->shown_sampler) &&
           !memcmp(&v->view, &l->shown_view, sizeof v->view);
}

int lesson_show(Lesson *l, VizState *v, int k, Err *err) {
    if (k < 0) k = 0;
    if (k >= l->n_steps) k = l->n_steps - 1;
    if (!v->run.loaded || strcmp(v->run.model_arg, l->model)) {
        snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", l->model);
        reset_view(v);
        l->shown = -1;
        if (viz_load_and_run(v, err)) return -1;
    }
    /* the next step after the one shown, with nothing changed since: only its own lines run (one
     * step's work); anything else replays the script from the start (a prompt already run is not run
     * again: start_prompt goes back to its positions) */
    int from = 0;
    if (k == l->shown + 1 && k > 0 && untouched(l, v)) from = l->step_end[k - 1];
    else reset_view(v);
    l->shown = -1;
    snprintf(v->view.title, sizeof v->view.title, "%s", l->title);
    Err e2;
    int heading = -1; /* the current step's heading item: its caption is built when the step is done */
    for (int i = 0; i < from; i++)
        if (l->items[i].kind == LI_HEADING) heading = i;
    for (int i = from; i < l->step_end[k]; i++) {
        LessonItem *it = &l->items[i];
        if (it->kind == LI_HEADING) { /* a new step: its own caption and highlights */
            heading = i;
            v->view.n_hl_tokens = v->view.n_hl_cells = v->view.n_hl_cands = 0;
            v->ui.message[0] = 0; /* what an earlier step's commands said is not this step's */
        } else if (it->kind == LI_COMMAND) {
            if (viz_command(v, it->text, &e2)) {
                err_set(err, "%s:%d:%d: %s", l->path, it->line, it->arg_col, e2.msg);
                return -1;
            }
        } else if (it->kind == LI_EXPECT && cond_holds(it, v)) {
            if (run_expect(l, it, v, err)) return -1;
        }
    }
    /* the caption: the heading, then the step's lines with their facts on the model as it is now;
     * consecutive '>' lines flow as one paragraph (an empty '>' line starts a new one), so that the
     * caption wraps at any width, on a screen or on paper */
    v->view.caption[0] = 0;
    int in_par = 0;
    for (int i = heading; i >= 0 && i < l->step_end[k]; i++) {
        LessonItem *it = &l->items[i];
        const char *prefix = it->kind == LI_HEADING ? "**" : it->kind == LI_ASK ? "Question: " : it->kind == LI_ANSWER ? "Answer: " : "";
        if (it->kind != LI_HEADING && it->kind != LI_CAPTION && it->kind != LI_ASK && it->kind != LI_ANSWER) continue;
        if (!cond_holds(it, v)) continue;
        char text[2048];
        const char *bad = NULL;
        if (expand_facts(v, it->text, text, sizeof text, &bad, &e2)) {
            err_set(err, "%s:%d:%d: %s", l->path, it->line, it->arg_col + (int)(bad - it->text) + 1, e2.msg);
            return -1;
        }
        size_t n = strlen(v->view.caption);
        if (it->kind == LI_CAPTION && text[0] && in_par) { /* the paragraph goes on */
            if (n > 0 && v->view.caption[n - 1] == '\n') v->view.caption[--n] = 0;
            snprintf(v->view.caption + n, sizeof v->view.caption - n, " %s\n", text);
        } else {
            snprintf(v->view.caption + n, sizeof v->view.caption - n, "%s%s%s\n", prefix, text, it->kind == LI_HEADING ? "**" : "");
        }
        in_par = it->kind == LI_CAPTION && text[0];
    }
    char prog[128];
    snprintf(prog, sizeof prog, "step %d / %d", k + 1, l->n_steps);
    snprintf(v->view.progress, sizeof v->view.progress, "%s", prog);
    l->shown = k, l->shown_view = v->view, l->shown_epoch = v->run.epoch, l->shown_run_step = v->run.step;
    l->shown_branch = v->run.branch, l->shown_sampler = v->run.gen.sampler;
    return 0;
}

/* One handout page: the title and step above, the view scaled to the page's width (drawn at a canvas
 * size whose smallest labels come out at 7 pt or more), the caption below it at 10.5 pt, the page
 * number at the foot. */
static void paper_page(Lesson *l, VizState *v, cairo_t *cr, double PW, double PH, int k) {
    const double M = 36, body = 10.5;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    Gfx g;
    gfx_begin(&g, cr, PW, PH, 0, 0);
    g.fs = body, g.fs_min = 7;
    gfx_font(&g, FONT_SANS, 11, 1);
    gfx_color(&g, GFX_INK);
    char step[64];
    snprintf(step, sizeof step, "step %d of %d", k + 1, l->n_steps);
    double sw = gfx_text_w(&g, step);
    gfx_text_fit(&g, M, M, l->title, PW - 2 * M - sw - 12, 0);
    gfx_font(&g, FONT_SANS, 9, 0);
    gfx_color(&g, GFX_MUTED);
    gfx_text(&g, PW - M, M, step, 1);
    /* the caption's room first, then the view in what is left: a 16:9 canvas drawn so that its smallest
     * text (13 px) comes out at 7 pt or more */
    double y = M + 10, foot = PH - M + 14, vw = PW - 2 * M;
    double cap = viz_caption_print(v, cr, (Rect){M, 0, vw, 0}, body, 0);
    double view_h = fmin(vw * 9 / 16, foot - 16 - 12 - cap - y);
    if (view_h < (foot - y) * 0.45) view_h = (foot - y) * 0.45; /* a very long caption is cut, not the view */
    double view_w = view_h * 16 / 9;
    double cw = fmin(1280, view_w * 13 / 7), ch = cw * 9 / 16, sc = view_w / cw;
    char *caption = xstrdup(v->view.caption), *title = xstrdup(v->view.title);
    v->view.caption[0] = 0, v->view.title[0] = 0; /* both printed on the page itself */
    double vx = M + (vw - view_w) / 2;
    cairo_save(cr);
    cairo_translate(cr, vx, y);
    cairo_scale(cr, sc, sc);
    cairo_rectangle(cr, 0, 0, cw, ch);
    cairo_clip(cr);
    viz_draw(v, cr, cw, ch);
    cairo_restore(cr);
    snprintf(v->view.caption, sizeof v->view.caption, "%s", caption);
    snprintf(v->view.title, sizeof v->view.title, "%s", title);
    free(caption);
    free(title);
    y += view_h + 12;
    double room = foot - 16 - y;
    viz_caption_print(v, cr, (Rect){M, y, vw, cap < room ? cap : room}, body, 1);
    gfx_begin(&g, cr, PW, PH, 0, 0);
    g.fs_min = 7;
    gfx_font(&g, FONT_SANS, 8, 0);
    gfx_color(&g, GFX_MUTED);
    snprintf(step, sizeof step, "%d", k + 1);
    gfx_text(&g, PW / 2, foot, step, 0.5);
}

int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, const char *paper, int portrait, Err *err) {
    /* slides: 1600x900 pages; paper: A4 or Letter, in points */
    double W = 1600, H = 900;
    if (paper && !strcasecmp(paper, "a4")) W = 841.89, H = 595.28;
    else if (paper && !strcasecmp(paper, "letter")) W = 792, H = 612;
    else if (paper) return err_set(err, "--paper expects a4 or letter, got '%s'", paper);
    if (paper && portrait) {
        double t = W;
        W = H, H = t;
    }
    cairo_surface_t *ps = NULL;
    if (pdf) {
        ps = cairo_pdf_surface_create(pdf, W, H);
        if (cairo_surface_status(ps) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(ps);
            return err_set(err, "%s: cannot create the PDF", pdf);
        }
        cairo_pdf_surface_set_metadata(ps, CAIRO_PDF_METADATA_TITLE, l->title);
        cairo_pdf_surface_set_metadata(ps, CAIRO_PDF_METADATA_CREATOR, "gptstep");
    }
    if (png_dir) mkdir(png_dir, 0755);
    int rc = 0;
    for (int k = 0; k < l->n_steps && rc == 0; k++) {
        rc = lesson_show(l, v, k, err);
        if (rc) break;
        if (ps) {
            cairo_t *cr = cairo_create(ps);
            if (paper) paper_page(l, v, cr, W, H, k);
            else viz_draw(v, cr, W, H);
            cairo_show_page(cr);
            cairo_destroy(cr);
        }
        if (png_dir) {
            char path[1024];
            snprintf(path, sizeof path, "%s/step-%02d.png", png_dir, k + 1);
            rc = viz_export(v, path, 1600, 900, err);
        }
        if (isatty(2)) fprintf(stderr, "\r[%d/%d] %s", k + 1, l->n_steps, l->title); /* progress on a terminal */
    }
    if (isatty(2)) fprintf(stderr, "\r%*s\r", 40 + (int)strlen(l->title), "");
    if (ps) {
        cairo_surface_finish(ps);
        if (rc == 0 && cairo_surface_status(ps) != CAIRO_STATUS_SUCCESS) rc = err_set(err, "%s: cannot write the PDF", pdf);
        cairo_surface_destroy(ps);
    }
    return rc;
}

/* ---- playing in the window ---- */

AppHooks lesson_player_hooks(LessonPlayer *p) { return (AppHooks){.ctx = p, .key = lesson_player_key, .work = lesson_player_work}; }

/* The step to show runs as the window's job (app.h): it may run the model (a patching sweep takes
 * seconds), and nothing else may read the run meanwhile. */
int lesson_player_work(void *ctx, VizState *v, Err *err) {
    LessonPlayer *p = ctx;
    return lesson_show(p->l, v, p->k, err);
}

int lesson_player_key(void *ctx, VizState *v, const char *key, int shift) {
    LessonPlayer *p = ctx;
    (void)shift;
    if (!p->active) return 0;
    int k = p->k;
    if (!strcmp(key, "Right") || !strcmp(key, "Space") || !strcmp(key, "PageDown")) {
        if (k + 1 < p->l->n_steps) k++;
    } else if (!strcmp(key, "Left") || !strcmp(key, "PageUp") || !strcmp(key, "Backspace")) {
        if (k > 0) k--;
    } else if (!strcmp(key, "Home")) {
        k = 0;
    } else if (!strcmp(key, "End")) {
        k = p->l->n_steps - 1;
    } else if (!strcmp(key, "Escape")) { /* leave the lesson, keep exploring from here */
        p->active = 0;
        v->view.caption[0] = 0;
        snprintf(v->view.progress, sizeof v->view.progress, "lesson left (explore freely)");
        return 1;
    } else {
        return 0;
    }
    if (k == p->k) return 1;
    p->k = k;
    return 2;
}

/* ---- the lesson as a page ---- */

static char *base64(const unsigned char *d, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = xmalloc(4 * (n / 3 + 1) + 1), *p = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        *p++ = A[v >> 18 & 63], *p++ = A[v >> 12 & 63];
        *p++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? A[v & 63] : '=';
    }
    *p = 0;
    return o;
}

/* The page built by `make web` (GPTSTEP_WEB_PAGE, else build/web/gptstep.html beside models/), with the
 * lesson's file inside it: the page opens on it. */
int lesson_html(const Lesson *l, const char *lesson_path, const char *out, Err *err) {
    const char *env = getenv("GPTSTEP_WEB_PAGE");
    char *page_path = NULL;
    if (env && *env) page_path = xstrdup(env);
    else {
        char *root = models_root();
        if (root) {
            char *up = path_join(root, "../build/web/gptstep.html");
            page_path = up;
            free(root);
        }
    }
    if (!page_path || !path_is_file(page_path)) {
        int rc = err_set(err, "--html needs the browser page: run 'make web' first (looked for %s)", page_path ? page_path : "build/web/gptstep.html");
        free(page_path);
        return rc;
    }
    size_t n_page = 0, n_lesson = 0;
    char *page = NULL, *text = NULL;
    if (read_file(page_path, &page, &n_page, err) || read_file(lesson_path, &text, &n_lesson, err)) {
        free(page_path), free(page);
        return -1;
    }
    free(page_path);
    char *body = strstr(page, "<body>");
    if (!body) {
        free(page), free(text);
        return err_set(err, "%s: not gptstep's page (no <body>)", getenv("GPTSTEP_WEB_PAGE") ? getenv("GPTSTEP_WEB_PAGE") : "build/web/gptstep.html");
    }
    body += strlen("<body>");
    const char *slash = strrchr(lesson_path, '/');
    char *b64 = base64((const unsigned char *)text, n_lesson), name[256];
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : lesson_path);
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_') *c = '_';
    FILE *f = fopen(out, "wb");
    int rc = 0;
    if (!f) rc = err_set(err, "%s: cannot write", out);
    else {
        /* the title: the lesson's, escaped for HTML */
        char *t = strstr(page, "<title>gptstep</title>");
        const char *rest = page;
        if (t && t < body) {
            fwrite(page, 1, (size_t)(t - page), f);
            fputs("<title>", f);
            for (const char *c = l->title; *c; c++)
                if (*c == '<') fputs("&lt;", f);
                else if (*c == '&') fputs("&amp;", f);
                else fputc(*c, f);
            fputs(" \xE2\x80\x94 gptstep</title>", f);
            rest = t + strlen("<title>gptstep</title>");
        }
        fwrite(rest, 1, (size_t)(body - rest), f);
        fprintf(f, "\n<script type=\"text/plain\" id=\"gptstep-lesson\" data-name=\"%s\">%s</script>", name, b64);
        fwrite(body, 1, n_page - (size_t)(body - page), f);
        if (fclose(f)) rc = err_set(err, "%s: cannot write", out);
    }
    free(b64), free(page), free(text);
    return rc;
}

static const char *LESSON_HELP =
    "usage: gptstep lesson FILE [--pdf OUT.pdf [--paper a4|letter] [--portrait]] [--pdf-slides OUT.pdf] [--html OUT.html]\n"
    "                           [--png-dir DIR] [--check] [--model MODEL]\n"
    "\n"
    "Plays a lesson script (docs/lessons.md) in the viewer: PageDown, Right or Space advance, PageUp or\n"
    "Left go back, Esc leaves the lesson and keeps exploring from where it is.\n"
    "  --pdf OUT.pdf    write a handout for paper instead (no window): a page a step, the view at print size\n"
    "                   (labels >= 7 pt) and its caption (10.5 pt), with the title and page numbers\n"
    "  --paper a4|letter, --portrait | --landscape   the handout's paper (default: A4 landscape)\n"
    "  --pdf-slides OUT.pdf   every step as a 1600x900 slide instead\n"
    "  --png-dir DIR    write every step as DIR/step-NN.png (no window)\n"
    "  --html OUT.html  write the browser page (make web builds it) opening on this lesson: one file that plays\n"
    "                   it in any browser, offline\n"
    "  --check          check the script: its form, every step and expectation against the model, and that\n"
    "                   every caption fits and every highlight is on screen (at 1600x900 and 1280x720)\n"
    "  --model MODEL    run it on MODEL instead of the model it names\n";

int viz_lesson_main(int argc, char **argv) {
    static struct option opts[] = {{"pdf", required_argument, 0, 'p'}, {"png-dir", required_argument, 0, 'd'},
                                   {"check", no_argument, 0, 'c'},     {"help", no_argument, 0, 'h'},
                                   {"model", required_argument, 0, 'm'}, {"paper", required_argument, 0, 'P'},
                                   {"portrait", no_argument, 0, 'o'},  {"landscape", no_argument, 0, 'L'},
                                   {"pdf-slides", required_argument, 0, 's'}, {"html", required_argument, 0, 'H'},
                                   {0, 0, 0, 0}};
    const char *pdf = NULL, *png = NULL, *model = NULL, *paper = "a4", *html = NULL;
    int portrait = 0;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pdf = optarg; break;
        case 'd': png = optarg; break;
        case 'c': check = 1; break;
        case 'm': model = optarg; break;
        case 'P': paper = optarg; break;
        case 'o': portrait = 1; break;
        case 'L': portrait = 0; break;
        case 's': pdf = optarg, paper = NULL; break;
        case 'H': html = optarg; break;
        case 'h': fputs(LESSON_HELP, stdout); return 0;
        default: return cli_bad_option("lesson", c, argv);
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "gptstep lesson: expected one lesson FILE (see 'gptstep lesson --help')\n");
        return 2;
    }
    Lesson l;
    Err err;
    int parsed = lesson_load(&l, argv[optind], &err) == 0;
    if (html) { /* the browser page, opening on this lesson: a handout that can be clicked */
        int rc = !parsed ? (fprintf(stderr, "%s\n", err.msg), 1) : lesson_html(&l, argv[optind], html, &err) ? (fprintf(stderr, "gptstep lesson: %s\n", err.msg), 1) : 0;
        if (rc == 0) printf("%s: %d steps -> %s (opens in any browser)\n", argv[optind], l.n_steps, html);
        if (parsed) lesson_free(&l);
        return rc;
    }
    if (parsed && model) { /* run it on another model than the one it names */
        Err probe;
        char *dir = gpt2_resolve_model(model, &probe);
        if (!dir) {
            fprintf(stderr, "gptstep lesson: %s\n", probe.msg);
            lesson_free(&l);
            return 1;
        }
        free(dir);
        snprintf(l.model, sizeof l.model, "%s", model);
    }
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    int rc = 0;
    if (pdf || png || check) {
        if (!parsed) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else if (check) {
            /* every step runs, its expectations hold, and what it shows fits: drawn at the window's
             * 1600x900 and a projector's 1280x720 */
            cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1600, 900);
            cairo_surface_t *prev = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 800, 450);
            cairo_surface_t *cur = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 800, 450);
            for (int k = 0; k < l.n_steps && rc == 0; k++) {
                if (lesson_show(&l, v, k, &err)) {
                    fprintf(stderr, "%s\n", err.msg), rc = 1;
                    break;
                }
                /* a step with a heading of its own shows something the step before did not (a pause, a
                 * question or its answer may keep the screen and add to the caption) */
                int line = 0, own_heading = 0, question = 0;
                for (int i = 0; i < l.step_end[k]; i++) {
                    if (l.items[i].kind == LI_HEADING) line = l.items[i].line, own_heading = k == 0 || i >= l.step_end[k - 1];
                    if ((l.items[i].kind == LI_ASK || l.items[i].kind == LI_ANSWER) && (k == 0 || i >= l.step_end[k - 1])) question = 1;
                }
                own_heading &= !question;
                char *caption = xstrdup(v->view.caption), progress[sizeof v->view.progress];
                memcpy(progress, v->view.progress, sizeof progress);
                v->view.caption[0] = v->view.progress[0] = 0;
                cairo_t *c2 = cairo_create(cur);
                viz_draw(v, c2, 800, 450);
                cairo_destroy(c2);
                cairo_surface_flush(cur);
                snprintf(v->view.caption, sizeof v->view.caption, "%s", caption);
                memcpy(v->view.progress, progress, sizeof progress);
                free(caption);
                if (k > 0 && own_heading &&
                    !memcmp(cairo_image_surface_get_data(prev), cairo_image_surface_get_data(cur),
                            (size_t)cairo_image_surface_get_stride(cur) * 450)) {
                    fprintf(stderr, "%s:%d:1: step %d shows the same screen as step %d (a step should show what its caption talks about)\n",
                            l.path, line, k + 1, k);
                    rc = 1;
                }
                cairo_surface_t *t = prev;
                prev = cur, cur = t;
                static const int SIZES[2][2] = {{1600, 900}, {1280, 720}};
                for (int z = 0; z < 2 && rc == 0; z++) {
                    cairo_t *cr = cairo_create(surf);
                    viz_draw(v, cr, SIZES[z][0], SIZES[z][1]);
                    cairo_destroy(cr);
                    if (v->ui.unseen[0]) {
                        int line = 0;
                        for (int i = 0; i < l.step_end[k]; i++)
                            if (l.items[i].kind == LI_HEADING) line = l.items[i].line;
                        fprintf(stderr, "%s:%d:1: step %d at %dx%d: %s\n", l.path, line, k + 1, SIZES[z][0], SIZES[z][1], v->ui.unseen);
                        rc = 1;
                    }
                }
            }
            cairo_surface_destroy(surf);
            cairo_surface_destroy(prev);
            cairo_surface_destroy(cur);
            if (rc == 0) printf("%s: %d steps, model %s, all fine\n", argv[optind], l.n_steps, l.model[0] ? l.model : "(default)");
        } else if (lesson_export(&l, v, pdf, png, paper, portrait, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else {
            printf("%s: %d steps%s%s%s%s\n", argv[optind], l.n_steps, pdf ? " -> " : "", pdf ? pdf : "",
                   png ? " -> " : "", png ? png : "");
        }
    } else if (!parsed) {
        /* the window still opens, on the default model, showing the error */
        viz_message(v, 1, "%s", err.msg);
        Err e2;
        if (viz_load_and_run(v, &e2)) viz_message(v, 1, "%.500s (and %.500s)", err.msg, e2.msg);
        rc = app_main(v, "gptstep lesson", (AppHooks){0});
    } else {
        LessonPlayer p = {&l, 0, 1};
        /* open at the first step, or at the step where the script fails */
        int failed = -1;
        for (int k = 0; k < l.n_steps && failed < 0; k++)
            if (lesson_show(&l, v, k, &err)) failed = k;
        p.k = failed >= 0 ? failed : 0;
        if (failed < 0) lesson_show(&l, v, 0, &err);
        else {
            lesson_show(&l, v, failed, &err);
            viz_message(v, 1, "%s", err.msg);
        }
        AppHooks hooks = lesson_player_hooks(&p);
        rc = app_main(v, "gptstep lesson", hooks);
    }
    if (parsed) lesson_free(&l);
    viz_free(v);
    free(v);
    return rc;
}
