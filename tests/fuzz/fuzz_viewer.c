/* fuzz_viewer.c - any lines as viewer commands (what a person types after ':' or a lesson says) on the
 * shipped storybook model, then a frame drawn at 320x180 and one in presenter mode: every command
 * succeeds or fails with one line, and the viewer stays drawable. Commands that touch files or other
 * models (model, export) are skipped. */
#include <cairo.h>

#include "fuzz_viz.h"

static VizState *v;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    v = fuzz_storybook_viewer();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n > 4096) return 0;
    /* the same starting point for every input: the default view of a short prompt */
    Err err;
    viz_view_defaults(&v->view);
    v->view.presenter = v->view.colorblind = 0;
    v->run.gen.sampler = sampler_default();
    if (viz_command(v, "prompt Once upon a time", &err) || viz_command(v, "ablate clear", &err) ||
        viz_command(v, "ablate-mode zero", &err) || viz_command(v, "compare off", &err))
        abort(); /* and nothing switched off or compared from an earlier input */
    char *text = malloc(n + 1);
    memcpy(text, data, n);
    text[n] = 0;
    int lines = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line && lines < 16; line = strtok_r(NULL, "\n", &save), lines++) {
        while (*line == ' ') line++;
        if (!strncasecmp(line, "model", 5) || !strncasecmp(line, "export", 6)) continue;
        if (viz_command(v, line, &err) && (strchr(err.msg, '\n') || !err.msg[0])) abort();
        if (viz_n_shown(v) < 1 && v->run.gen.trace.n_steps > 0) abort();
    }
    free(text);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 320, 180);
    cairo_t *cr = cairo_create(s);
    viz_draw(v, cr, 320, 180);
    v->view.presenter = !v->view.presenter;
    viz_draw(v, cr, 320, 180);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return 0;
}
