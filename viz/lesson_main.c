/* lesson_main.c - `gptstep lesson FILE`: plays it in a window, or writes handouts, slides, PNGs or the
 * page, or checks it against the model. */
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

static const char *LESSON_HELP =
    "usage: gptstep lesson FILE [--pdf OUT.pdf [--paper a4|letter] [--portrait]] [--pdf-slides OUT.pdf] [--html OUT.html]\n"
    "                           [--png-dir DIR] [--check] [--model MODEL] [--notes OUT.pdf] [--console]\n"
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
    "  --model MODEL    run it on MODEL instead of the model it names\n"
    "  --console        also open the lecturer's console (O while it plays): the step's notes ('note' lines,\n"
    "                   never shown to the room), the expected answer, what comes next and a clock, in a\n"
    "                   second window - on the second display when there is one\n"
    "  --notes OUT.pdf  write the lecturer's pages (no window): each step's slide with its notes, expected\n"
    "                   answer and what comes next (student handouts never show the notes)\n";

int viz_lesson_main(int argc, char **argv) {
    static struct option opts[] = {{"pdf", required_argument, 0, 'p'}, {"png-dir", required_argument, 0, 'd'},
                                   {"check", no_argument, 0, 'c'},     {"help", no_argument, 0, 'h'},
                                   {"model", required_argument, 0, 'm'}, {"paper", required_argument, 0, 'P'},
                                   {"portrait", no_argument, 0, 'o'},  {"landscape", no_argument, 0, 'L'},
                                   {"pdf-slides", required_argument, 0, 's'}, {"html", required_argument, 0, 'H'},
                                   {"notes", required_argument, 0, 'n'}, {"console", no_argument, 0, 'C'},
                                   {0, 0, 0, 0}};
    const char *notes = NULL;
    int console = 0;
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
        case 'n': notes = optarg; break;
        case 'C': console = 1; break;
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
    if (notes) { /* the lecturer's pages: each slide with its notes, expected answer and what comes next */
        if (!parsed) fprintf(stderr, "%s\n", err.msg), rc = 1;
        else if (lesson_export_notes(&l, v, notes, pdf ? NULL : paper, &err)) fprintf(stderr, "%s\n", err.msg), rc = 1;
        else printf("%s: %d steps with their notes -> %s\n", argv[optind], l.n_steps, notes);
    } else if (pdf || png || check) {
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
        LessonPlayer p = {&l, 0, 1, 0};
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
        hooks.open_console = console;
        rc = app_main(v, "gptstep lesson", hooks);
    }
    if (parsed) lesson_free(&l);
    viz_free(v);
    free(v);
    return rc;
}

