/* lesson.c - the lesson language: parsing with file:line:column errors, replaying a step exactly,
 * playing in the window (clicker keys), and exporting every step as a PDF page or PNG. */
#define _GNU_SOURCE
#include "lesson.h"

#include <cairo-pdf.h>
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include "app.h"

static int lesson_err(Err *err, const char *path, int line, int col, const char *fmt, const char *a, const char *b) {
    char msg[800];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    return err_set(err, "%s:%d:%d: %s", path, line, col, msg);
}

static void add_item(Lesson *l, LessonItemKind kind, int line, int col, int arg_col, const char *text) {
    l->items = xrealloc(l->items, sizeof(LessonItem) * (size_t)(l->n_items + 1));
    l->items[l->n_items++] = (LessonItem){kind, line, col, arg_col, xstrdup(text)};
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
            add_item(l, LI_HEADING, line_no, col, col + (int)(h - s), h);
        } else if (s[0] == '#') {
            /* a comment */
        } else if (s[0] == '>') {
            if (!in_steps) { rc = lesson_err(err, path, line_no, col, "a caption line must be inside a step: start one with '## heading'%s%s", NULL, NULL); break; }
            char *t = s + 1;
            if (*t == ' ') t++;
            add_item(l, LI_CAPTION, line_no, col, col + (int)(t - s), t);
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
                add_item(l, LI_ASK, line_no, col, arg_col, arg);
                pending_ask = 1, ask_line = line_no;
            } else if (!strcmp(cmd, "answer")) {
                if (!pending_ask) { rc = lesson_err(err, path, line_no, col, "'answer' without an 'ask' before it%s%s", NULL, NULL); break; }
                if (!*arg) { rc = lesson_err(err, path, line_no, arg_col, "'answer' expects the answer's text%s%s", NULL, NULL); break; }
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
    viz_view_defaults(&v->view);
    v->run.step = 0;
    v->ui.message[0] = 0;
    v->run.gen.sampler = sampler_default();
    free(v->run.prompt);
    v->run.prompt = xstrdup("Once upon a time there was a");
}

static void caption_add(VizState *v, const char *prefix, const char *text) {
    size_t n = strlen(v->view.caption);
    snprintf(v->view.caption + n, sizeof v->view.caption - n, "%s%s\n", prefix, text);
}

int lesson_show(Lesson *l, VizState *v, int k, Err *err) {
    if (k < 0) k = 0;
    if (k >= l->n_steps) k = l->n_steps - 1;
    if (!v->run.loaded || strcmp(v->run.model_arg, l->model)) {
        snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", l->model);
        reset_view(v);
        if (viz_load_and_run(v, err)) return -1;
    }
    reset_view(v);
    snprintf(v->view.title, sizeof v->view.title, "%s", l->title);
    Err e2;
    for (int i = 0; i < l->step_end[k]; i++) {
        LessonItem *it = &l->items[i];
        if (it->kind == LI_HEADING) { /* a new step: its own caption and highlights */
            snprintf(v->view.caption, sizeof v->view.caption, "**%s**\n", it->text);
            v->view.n_hl_tokens = v->view.n_hl_cells = v->view.n_hl_cands = 0;
        } else if (it->kind == LI_CAPTION) {
            caption_add(v, "", it->text);
        } else if (it->kind == LI_ASK) {
            caption_add(v, "Question: ", it->text);
        } else if (it->kind == LI_ANSWER) {
            caption_add(v, "Answer: ", it->text);
        } else if (it->kind == LI_COMMAND) {
            if (viz_command(v, it->text, &e2)) {
                err_set(err, "%s:%d:%d: %s", l->path, it->line, it->arg_col, e2.msg);
                return -1;
            }
        }
    }
    char prog[128];
    snprintf(prog, sizeof prog, "step %d / %d", k + 1, l->n_steps);
    snprintf(v->view.progress, sizeof v->view.progress, "%s", prog);
    return 0;
}

int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, Err *err) {
    const int W = 1600, H = 900;
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
            viz_draw(v, cr, W, H);
            cairo_show_page(cr);
            cairo_destroy(cr);
        }
        if (png_dir) {
            char path[1024];
            snprintf(path, sizeof path, "%s/step-%02d.png", png_dir, k + 1);
            rc = viz_export(v, path, W, H, err);
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

typedef struct {
    Lesson *l;
    int k;          /* the step shown */
    int active;     /* 0 after Esc: free exploring */
} Player;

static void player_show(Player *p, VizState *v) {
    Err err;
    if (lesson_show(p->l, v, p->k, &err)) {
        viz_message(v, 1, "%s", err.msg);
    }
}

static int player_key(void *ctx, VizState *v, const char *key, int shift) {
    Player *p = ctx;
    (void)shift;
    if (!p->active) return 0;
    if (!strcmp(key, "Right") || !strcmp(key, "Space") || !strcmp(key, "PageDown")) {
        if (p->k + 1 < p->l->n_steps) p->k++, player_show(p, v);
        return 1;
    }
    if (!strcmp(key, "Left") || !strcmp(key, "PageUp") || !strcmp(key, "Backspace")) {
        if (p->k > 0) p->k--, player_show(p, v);
        return 1;
    }
    if (!strcmp(key, "Home")) {
        p->k = 0, player_show(p, v);
        return 1;
    }
    if (!strcmp(key, "End")) {
        p->k = p->l->n_steps - 1, player_show(p, v);
        return 1;
    }
    if (!strcmp(key, "Escape")) { /* leave the lesson, keep exploring from here */
        p->active = 0;
        v->view.caption[0] = 0;
        snprintf(v->view.progress, sizeof v->view.progress, "lesson left (explore freely)");
        return 1;
    }
    return 0;
}

static const char *LESSON_HELP =
    "usage: gptstep lesson FILE [--pdf OUT.pdf] [--png-dir DIR] [--check]\n"
    "\n"
    "Plays a lesson script (docs/lessons.md) in the viewer: PageDown, Right or Space advance, PageUp or\n"
    "Left go back, Esc leaves the lesson and keeps exploring from where it is.\n"
    "  --pdf OUT.pdf    write every step as one page of a PDF handout instead (no window)\n"
    "  --png-dir DIR    write every step as DIR/step-NN.png (no window)\n"
    "  --check          only check the script (syntax, and every step against the model)\n";

int viz_lesson_main(int argc, char **argv) {
    static struct option opts[] = {{"pdf", required_argument, 0, 'p'}, {"png-dir", required_argument, 0, 'd'},
                                   {"check", no_argument, 0, 'c'},     {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    const char *pdf = NULL, *png = NULL;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': pdf = optarg; break;
        case 'd': png = optarg; break;
        case 'c': check = 1; break;
        case 'h': fputs(LESSON_HELP, stdout); return 0;
        default: fprintf(stderr, "gptstep lesson: unknown option (see 'gptstep lesson --help')\n"); return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "gptstep lesson: expected one lesson FILE (see 'gptstep lesson --help')\n");
        return 2;
    }
    Lesson l;
    Err err;
    int parsed = lesson_load(&l, argv[optind], &err) == 0;
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    int rc = 0;
    if (pdf || png || check) {
        if (!parsed) {
            fprintf(stderr, "%s\n", err.msg);
            rc = 1;
        } else if (check) {
            for (int k = 0; k < l.n_steps && rc == 0; k++)
                if (lesson_show(&l, v, k, &err)) fprintf(stderr, "%s\n", err.msg), rc = 1;
            if (rc == 0) printf("%s: %d steps, model %s, all fine\n", argv[optind], l.n_steps, l.model[0] ? l.model : "(default)");
        } else if (lesson_export(&l, v, pdf, png, &err)) {
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
        Player p = {&l, 0, 1};
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
        AppHooks hooks = {.ctx = &p, .key = player_key};
        rc = app_main(v, "gptstep lesson", hooks);
    }
    if (parsed) lesson_free(&l);
    viz_free(v);
    free(v);
    return rc;
}
