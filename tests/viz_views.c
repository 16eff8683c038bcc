/* viz_views.c - every view drawn headless on a test model and compared with its golden image
 * (tests/golden/NAME.png) within a small tolerance; stepping forward then back redraws the same frame;
 * bad commands leave the viewer usable; exports to PNG, SVG and PDF are written.
 *     viz_views MODEL_DIR GOLDEN_DIR OUT_DIR [--update]      (--update rewrites the goldens) */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "viz.h"

#define W 960
#define H 540

static cairo_surface_t *draw(VizState *v) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, W, H);
    cairo_t *cr = cairo_create(s);
    viz_draw(v, cr, W, H);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

/* Fraction of pixels whose channels differ by more than 24 (anti-aliasing and font hinting noise). */
static double diff_fraction(cairo_surface_t *a, cairo_surface_t *b) {
    if (cairo_image_surface_get_width(a) != cairo_image_surface_get_width(b) ||
        cairo_image_surface_get_height(a) != cairo_image_surface_get_height(b))
        return 1.0;
    int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
    int sa = cairo_image_surface_get_stride(a), sb = cairo_image_surface_get_stride(b);
    const unsigned char *pa = cairo_image_surface_get_data(a), *pb = cairo_image_surface_get_data(b);
    long bad = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const unsigned char *p = pa + y * sa + 4 * x, *q = pb + y * sb + 4 * x;
            int d = 0;
            for (int c = 0; c < 4; c++) d = abs(p[c] - q[c]) > d ? abs(p[c] - q[c]) : d;
            bad += d > 24;
        }
    return (double)bad / ((double)w * h);
}

static int update;
static const char *golden_dir, *out_dir;

static void golden(VizState *v, const char *name) {
    char gp[1024], op[1024];
    snprintf(gp, sizeof gp, "%s/%s.png", golden_dir, name);
    snprintf(op, sizeof op, "%s/%s.png", out_dir, name);
    cairo_surface_t *got = draw(v);
    cairo_surface_write_to_png(got, op);
    if (update) {
        CHECK(cairo_surface_write_to_png(got, gp) == CAIRO_STATUS_SUCCESS, "writing %s", gp);
        printf("updated %s\n", gp);
    } else {
        cairo_surface_t *want = cairo_image_surface_create_from_png(gp);
        int ok = cairo_surface_status(want) == CAIRO_STATUS_SUCCESS;
        CHECK(ok, "golden %s is missing or unreadable (regenerate with 'make goldens')", gp);
        if (ok) {
            double f = diff_fraction(got, want);
            CHECK(f < 0.005, "view '%s' differs from %s in %.2f%% of pixels (see %s)", name, gp, 100 * f, op);
            printf("%-22s %.3f%% of pixels differ from the golden\n", name, 100 * f);
        }
        cairo_surface_destroy(want);
    }
    cairo_surface_destroy(got);
}

static void run(VizState *v, const char *cmd) {
    Err err;
    CHECK(viz_command(v, cmd, &err) == 0, "command '%s': %s", cmd, err.msg);
}

static void bad(VizState *v, const char *cmd, const char *needle) {
    Err err = {{0}};
    int rc = viz_command(v, cmd, &err);
    CHECK(rc != 0 && strstr(err.msg, needle), "command '%s' should fail with '%s', got '%s'", cmd, needle, rc ? err.msg : "success");
}

static int same_frame(VizState *v, cairo_surface_t *ref) {
    cairo_surface_t *s = draw(v);
    double f = diff_fraction(s, ref);
    cairo_surface_destroy(s);
    return f == 0.0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: viz_views MODEL_DIR GOLDEN_DIR OUT_DIR [--update]\n");
        return 2;
    }
    golden_dir = argv[2], out_dir = argv[3];
    update = argc > 4 && strcmp(argv[4], "--update") == 0;
    mkdir(out_dir, 0755);
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    snprintf(v->model_arg, sizeof v->model_arg, "%s", argv[1]);
    v->gen.sampler.seed = 7;
    Err err;
    CHECK(viz_load_and_run(v, &err) == 0, "load: %s", err.msg);
    if (!v->loaded) return check_report("viewer");
    run(v, "generate 4");

    golden(v, "all");
    run(v, "layer 1");
    run(v, "head 2");
    run(v, "query 6");
    run(v, "view attention");
    golden(v, "attention-weights");
    run(v, "attention masked");
    golden(v, "attention-masked");
    run(v, "attention scores");
    golden(v, "attention-scores");
    run(v, "attention weights");
    run(v, "cell 6 3");
    golden(v, "attention-cell");
    run(v, "key none");
    run(v, "view grid");
    golden(v, "grid");
    run(v, "view distribution");
    run(v, "temperature 0.7");
    run(v, "top-p 0.9");
    golden(v, "distribution");
    run(v, "view tokens");
    golden(v, "tokens");
    run(v, "view block");
    golden(v, "block");
    run(v, "view pipeline");
    run(v, "stage L1.ffn");
    golden(v, "pipeline");
    run(v, "view all");
    run(v, "large on");
    run(v, "colorblind on");
    run(v, "help on");
    golden(v, "all-large-colorblind-help");
    run(v, "help off");
    run(v, "large off");
    run(v, "colorblind off");

    /* stepping forward then back redraws exactly the same frame */
    run(v, "first");
    cairo_surface_t *ref = draw(v);
    run(v, "next");
    run(v, "next");
    run(v, "prev");
    run(v, "prev");
    CHECK(same_frame(v, ref), "next, next, prev, prev returns to the same frame");
    cairo_surface_destroy(ref);

    /* a branch: pick the second candidate; stepping back shows the branch point */
    int steps = v->gen.trace.n_steps;
    run(v, "last");
    int at = v->step;
    run(v, "pick 198");
    CHECK(v->step == at + 1 && v->gen.trace.pos[viz_n_shown(v) - 1].token == 198, "branch continues from the picked token");
    run(v, "prev");
    CHECK(v->gen.trace.steps[v->step].chosen == 198 && v->gen.trace.steps[v->step].sampler.greedy == -1,
          "stepping back shows the picked token as the choice");
    (void)steps;

    /* bad input: a clear error, and the viewer stays usable */
    bad(v, "layer 9", "0..1");
    bad(v, "head x", "head expects");
    bad(v, "attention colourful", "scores, masked or weights");
    bad(v, "stage L7.attn", "stage expects");
    bad(v, "temperature -1", "temperature expects");
    bad(v, "prompt \"\"", "some text");
    bad(v, "prompt bad \xff", "not valid UTF-8");
    bad(v, "model /nonexistent", "not found");
    bad(v, "frobnicate", "unknown command");
    bad(v, "export out.gif", ".png, .svg or .pdf");
    CHECK(v->loaded, "still loaded after the errors");
    run(v, "next");

    /* exports */
    const char *ext[] = {"png", "svg", "pdf"};
    for (int i = 0; i < 3; i++) {
        char path[1024], cmd[1100];
        snprintf(path, sizeof path, "%s/export.%s", out_dir, ext[i]);
        remove(path);
        snprintf(cmd, sizeof cmd, "export %s", path);
        run(v, cmd);
        struct stat st;
        CHECK(stat(path, &st) == 0 && st.st_size > 1000, "export wrote %s", path);
    }
    viz_free(v);
    free(v);
    return check_report("viewer");
}
