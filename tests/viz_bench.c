/* viz_bench.c - the viewer's speed on a model with GPT-2 small's shapes: one full frame at 1920x1080
 * with 128 tokens, and a next-token step (decode + redraw).   viz_bench MODEL_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz.h"

static double frame_ms(VizState *v, cairo_surface_t *s, int reps) {
    double best = 1e9;
    for (int i = 0; i < reps; i++) {
        cairo_t *cr = cairo_create(s);
        double t0 = now_seconds();
        viz_draw(v, cr, 1920, 1080);
        cairo_surface_flush(s);
        double ms = (now_seconds() - t0) * 1e3;
        cairo_destroy(cr);
        if (ms < best) best = ms;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: viz_bench MODEL_DIR\n");
        return 2;
    }
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", argv[1]);
    /* a 100-token prompt, then 27 generated tokens: 128 positions on screen */
    char prompt[4096] = "";
    for (int i = 0; i < 100; i++) strcat(prompt, i % 2 ? " the" : " time");
    free(v->run.prompt);
    v->run.prompt = xstrdup(prompt);
    Err err;
    double t0 = now_seconds();
    if (viz_load_and_run(v, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    double load = now_seconds() - t0;
    if (viz_command(v, "generate 27", &err)) fprintf(stderr, "%s\n", err.msg);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1920, 1080);
    int n = viz_n_shown(v) + 1;
    double all = frame_ms(v, s, 10);
    viz_command(v, "grid on", &err);
    double grid = frame_ms(v, s, 5);
    viz_command(v, "grid off", &err);
    /* next token: decode one position and redraw, as the window does on a key */
    double step = 1e9;
    for (int i = 0; i < 5; i++) {
        double t1 = now_seconds();
        viz_command(v, "next", &err);
        cairo_t *cr = cairo_create(s);
        viz_draw(v, cr, 1920, 1080);
        cairo_surface_flush(s);
        cairo_destroy(cr);
        double ms = (now_seconds() - t1) * 1e3;
        if (ms < step) step = ms;
    }
    printf("viewer, %s (%d layers x %d heads), %d tokens on screen, 1920x1080\n", v->run.gen.model.name,
           v->run.gen.model.cfg.n_layer, v->run.gen.model.cfg.n_head, n);
    printf("  load + 100-token prompt        %8.0f ms\n", load * 1e3);
    printf("  frame (heatmap layout)         %8.1f ms   (target <= 16 ms)\n", all);
    printf("  frame (all-heads grid)         %8.1f ms\n", grid);
    printf("  next token: decode + redraw    %8.1f ms   (target <= 100 ms)\n", step);
    cairo_surface_destroy(s);
    viz_free(v);
    free(v);
    return 0;
}
