/* lesson.c - the lesson language: parsing with file:line:column errors, replaying a step exactly (with
 * its facts and expectations: facts.c), and playing in the window or the page with clicker keys.
 * Handouts, slides and the page are written by lesson_export.c; the `gptstep lesson` command is
 * lesson_main.c. */
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

/* Every {fact} of a caption, checked when the file is read. */
static int check_facts(const Lesson *l, int line, int col, const char *text, Err *err) {
    for (const char *p = strchr(text, '{'); p; p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e) return err_set(err, "%s:%d:%d: '{' without '}' (a fact is written {n_embd})", l->path, line, col + (int)(p - text));
        char expr[256];
        snprintf(expr, sizeof expr, "%.*s", (int)(e - p - 1), p + 1);
        Err e2;
        if (lesson_fact_check(expr, &e2)) return err_set(err, "%s:%d:%d: %s", l->path, line, col + (int)(p - text) + 1, e2.msg);
    }
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
    char fact[256], op[3];
    double want;
    if (split_expect(arg, fact, sizeof fact, op, &want))
        return err_set(err, "%s:%d:%d: expected 'expect FACT OP NUMBER' (e.g. 'expect chosen_rank <= 5'), got '%s'", l->path, line, col, arg);
    Err e2;
    if (lesson_fact_check(fact, &e2)) return err_set(err, "%s:%d:%d: %s", l->path, line, col, e2.msg);
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
            } else if (!strcmp(cmd, "note")) {
                if (!in_steps) { rc = lesson_err(err, path, line_no, col, "'note' must be inside a step%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'note' expects the speaker's note%s%s", NULL, NULL); break; }
                add_item(l, LI_NOTE, line_no, col, arg_col, arg);
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

/* The items of step k alone: [*from, *to) (setup items and earlier steps' left out). */
static void step_items(const Lesson *l, int k, int *from, int *to) {
    *from = k > 0 ? l->step_end[k - 1] : 0, *to = l->step_end[k];
    if (k == 0)
        while (*from < *to && l->items[*from].kind != LI_HEADING) (*from)++;
}

void lesson_notes(const Lesson *l, int k, char *buf, size_t cap) {
    int from, to;
    size_t n = 0;
    buf[0] = 0;
    if (k < 0 || k >= l->n_steps) return;
    step_items(l, k, &from, &to);
    for (int i = from; i < to && n + 1 < cap; i++)
        if (l->items[i].kind == LI_NOTE) n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "\n" : "", l->items[i].text);
}

void lesson_expected_answer(const Lesson *l, int k, char *buf, size_t cap) {
    int from, to, asked = 0;
    buf[0] = 0;
    if (k < 0 || k >= l->n_steps) return;
    step_items(l, k, &from, &to);
    for (int i = from; i < to; i++) asked |= l->items[i].kind == LI_ASK;
    for (int i = to; asked && i < l->n_items; i++) /* the answer opens the next step */
        if (l->items[i].kind == LI_ANSWER) {
            snprintf(buf, cap, "%s", l->items[i].text);
            return;
        }
}

void lesson_heading(const Lesson *l, int k, char *buf, size_t cap) {
    int from, to;
    buf[0] = 0;
    if (k < 0 || k >= l->n_steps) return;
    step_items(l, k, &from, &to);
    for (int i = to - 1; i >= 0; i--) /* the heading in force (a pause's second half keeps its heading) */
        if (l->items[i].kind == LI_HEADING) {
            snprintf(buf, cap, "%s", l->items[i].text);
            return;
        }
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
    v->ui.message[0] = 0; /* a command's passing remark ("drawn again...") is not part of the slide */
    char prog[128];
    snprintf(prog, sizeof prog, "step %d / %d", k + 1, l->n_steps);
    snprintf(v->view.progress, sizeof v->view.progress, "%s", prog);
    l->shown = k, l->shown_view = v->view, l->shown_epoch = v->run.epoch, l->shown_run_step = v->run.step;
    l->shown_branch = v->run.branch, l->shown_sampler = v->run.gen.sampler;
    return 0;
}

/* ---- playing in the window ---- */

static void lesson_player_console(void *ctx, cairo_t *cr, double W, double H) {
    LessonPlayer *p = ctx;
    if (p->started == 0) p->started = now_seconds();
    lesson_console_draw(p->l, p->k, cr, W, H, now_seconds() - p->started);
}

AppHooks lesson_player_hooks(LessonPlayer *p) {
    return (AppHooks){.ctx = p, .key = lesson_player_key, .work = lesson_player_work, .console = lesson_player_console};
}

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
