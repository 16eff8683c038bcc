/* viz_lessons.c - lesson playback is exact: stepping forward one step at a time (which runs only that
 * step's lines) draws the same frame as replaying the script from its start, at every step of every
 * lesson given; and going forward then back draws the same frame again.   viz_lessons LESSON... */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lesson.h"

static cairo_surface_t *frame(VizState *v) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 800, 450);
    cairo_t *cr = cairo_create(s);
    viz_draw(v, cr, 800, 450);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

static int same(cairo_surface_t *a, cairo_surface_t *b) {
    return memcmp(cairo_image_surface_get_data(a), cairo_image_surface_get_data(b),
                  (size_t)cairo_image_surface_get_stride(a) * 450) == 0;
}

int main(int argc, char **argv) {
    const char *model = NULL; /* --model DIR: every lesson on that model (make bench: GPT-2 small's shapes) */
    int first = 1;
    if (argc > 2 && !strcmp(argv[1], "--model")) model = argv[2], first = 3;
    for (int i = first; i < argc; i++) {
        Lesson l;
        Err err;
        VizState *v = calloc(1, sizeof *v);
        viz_init(v);
        CHECK(lesson_load(&l, argv[i], &err) == 0, "%s", err.msg);
        if (model) snprintf(l.model, sizeof l.model, "%s", model);
        /* forward one step at a time, as a clicker does */
        cairo_surface_t **seq = calloc((size_t)l.n_steps, sizeof *seq);
        /* a step that runs a patching sweep costs the sweep (hundreds of runs of the model): timed apart */
        int *sweep = calloc((size_t)l.n_steps, sizeof(int)), n_sweep = 0, n_fwd = 0, n_full = 0;
        for (int k = 0; k < l.n_steps; k++) {
            for (int it = k ? l.step_end[k - 1] : 0; it < l.step_end[k]; it++)
                sweep[k] |= l.items[it].kind == LI_COMMAND && !strncmp(l.items[it].text, "patch ", 6);
            n_sweep += sweep[k];
        }
        double t_fwd = 0, t_full = 0, t_sweep = 0;
        for (int k = 0; k < l.n_steps; k++) {
            double t0 = now_seconds();
            CHECK(lesson_show(&l, v, k, &err) == 0, "%s", err.msg);
            /* a command's passing remark ("the next token was drawn again...") is not part of a slide or
             * a handout page: it covered lesson 7's chart */
            CHECK(!v->ui.message[0], "%s step %d leaves a message on the slide: '%s'", argv[i], k + 1, v->ui.message);
            if (sweep[k]) t_sweep += now_seconds() - t0;
            else if (k) t_fwd += now_seconds() - t0, n_fwd++;
            seq[k] = frame(v);
        }
        /* each step again from the start of the script */
        for (int k = 0; k < l.n_steps; k++) {
            l.shown = -1;
            double t0 = now_seconds();
            CHECK(lesson_show(&l, v, k, &err) == 0, "%s", err.msg);
            int swept = 0; /* a replay of a step at or after a sweep runs the sweep again */
            for (int j = 0; j <= k; j++) swept |= sweep[j];
            if (!swept) t_full += now_seconds() - t0, n_full++;
            cairo_surface_t *f = frame(v);
            CHECK(same(seq[k], f), "%s: step %d one step at a time differs from a replay from the start", argv[i], k + 1);
            cairo_surface_destroy(f);
        }
        /* forward then back */
        for (int k = 0; k + 1 < l.n_steps; k++) {
            lesson_show(&l, v, k, &err);
            lesson_show(&l, v, k + 1, &err);
            lesson_show(&l, v, k, &err);
            cairo_surface_t *after = frame(v);
            CHECK(same(seq[k], after), "%s: step %d, forward then back, draws a different frame", argv[i], k + 1);
            cairo_surface_destroy(after);
        }
        for (int k = 0; k < l.n_steps; k++) cairo_surface_destroy(seq[k]);
        free(seq);
        char swept_note[160] = "";
        if (n_sweep)
            snprintf(swept_note, sizeof swept_note, "; %d step%s running a patching sweep: %.0f ms each, the sweep's time, not counted above",
                     n_sweep, n_sweep == 1 ? "" : "s", 1e3 * t_sweep / n_sweep);
        printf("%s: %d steps, each identical one step at a time, from the start, and after forward and back "
               "(%.1f ms a step forward, %.1f ms a replay%s)\n", argv[i], l.n_steps, 1e3 * t_fwd / (n_fwd ? n_fwd : 1),
               1e3 * t_full / (n_full ? n_full : 1), swept_note);
        free(sweep);
        lesson_free(&l);
        viz_free(v);
        free(v);
    }
    return check_report("lesson replay");
}
