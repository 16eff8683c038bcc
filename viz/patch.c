/* patch.c - `gptstep patch`: an activation-patching sweep (src/patching.c) printed as a table and, with
 * -o, drawn as a heatmap (PNG, SVG, PDF) or saved as a NumPy array. */
#define _GNU_SOURCE
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <getopt.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "gfx.h"
#include "patching.h"
#include "vizint.h"

static const char *PATCH_HELP =
    "usage: gptstep patch [--model MODEL] --clean TEXT --corrupt TEXT (--target \" token\" | --target-id ID | --metric M)\n"
    "                     [--what resid|heads|mlp]\n"
    "                     [-o FILE.png|.svg|.pdf|.npy]\n"
    "\n"
    "Activation patching: runs the corrupted text, puts back one activation from the clean text's run, and\n"
    "measures how much of the clean prediction of the target token (at the last position) it restores:\n"
    "(logit patched - logit corrupted) / (logit clean - logit corrupted); 1 = all of it. The texts must be\n"
    "the same number of tokens. docs/experiments.md explains it.\n"
    "  --metric M     measure a difference of two logits instead, as papers do: '\" flew\"-\" went\"' (quoted\n"
    "                 pieces, or ids: 1234-3478), how much the model prefers the clean answer to the corrupted one\n"
    "  When clean and corrupted differ by less than 0.5 in what is measured, there is nothing to restore and\n"
    "  the ratios would be noise: it says so (exit 1) instead of printing them.\n"
    "  --what resid   the residual stream after each layer, at each position (default)\n"
    "  --what mlp     each MLP's output, at each position\n"
    "  --what heads   each head's output, at every position at once (layers x heads)\n"
    "  -o FILE        draw the sweep as a heatmap (.png, .svg, .pdf) or save it as a NumPy array (.npy)\n";

static int encode(Gen *g, const char *text, int **ids, int *n, const char *what, Err *err) {
    Err e;
    if (tok_encode(g->tok, text, strlen(text), 1, ids, n, &e)) return err_set(err, "%s: %s", what, e.msg);
    if (*n < 1) return err_set(err, "%s is empty", what);
    return 0;
}

/* The heatmap: rows (layers, or layer.head), columns (positions, labelled with the clean tokens). */
static int draw(const PatchSweep *s, Gen *g, const int *clean, const char *label, const char *path, Err *err) {
    const int W = 1600, H = 900;
    int png;
    cairo_surface_t *surf = viz_file_surface(path, W, H, ".png, .svg, .pdf or .npy", &png, err);
    if (!surf) return -1;
    cairo_t *cr = cairo_create(surf);
    Gfx g_, *gx = &g_;
    gfx_begin(gx, cr, W, H, 0, 0);
    gfx_fill(gx, (Rect){0, 0, W, H}, GFX_BG);
    char title[800], foot[600];
    snprintf(title, sizeof title, "Activation patching on %s: how much of %s each %s restores (1 = all)", g->model.name, label,
             s->what == PATCH_RESID ? "layer's residual stream at each position" : s->what == PATCH_MLP ? "MLP output at each position"
                                                                                 : "head's output");
    snprintf(foot, sizeof foot, "%s: clean %.3f, corrupted %.3f", label, s->clean_logit, s->corrupt_logit);
    double pad = gx->fs * 0.5;
    draw_patch_sweep(gx, (Rect){pad, pad, W - 2 * pad, H - 2 * pad}, s, g->tok, clean, g->model.cfg.n_head, title, foot);
    cairo_destroy(cr);
    return viz_file_finish(surf, path, png, err);
}

int viz_patch_main(int argc, char **argv) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'}, {"clean", required_argument, 0, 'c'},
                                   {"corrupt", required_argument, 0, 'x'}, {"target", required_argument, 0, 't'},
                                   {"what", required_argument, 0, 'w'},  {"help", no_argument, 0, 'h'},
                                   {"target-id", required_argument, 0, 'i'}, {"metric", required_argument, 0, 'M'},
                                   {0, 0, 0, 0}};
    const char *model = NULL, *clean = NULL, *corrupt = NULL, *target = NULL, *out = NULL, *metric_text = NULL;
    long target_id = -1;
    PatchKind what = PATCH_RESID;
    int c;
    while ((c = getopt_long(argc, argv, ":m:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'c': clean = optarg; break;
        case 'x': corrupt = optarg; break;
        case 't': target = optarg; break;
        case 'M': metric_text = optarg; break;
        case 'o': out = optarg; break;
        case 'i': {
            char *end;
            target_id = strtol(optarg, &end, 10);
            if (*end || target_id < 0) {
                fprintf(stderr, "gptstep patch: --target-id expects a token id, got '%s'\n", optarg);
                return 2;
            }
            target = "";
            break;
        }
        case 'w':
            if (!strcmp(optarg, "resid")) what = PATCH_RESID;
            else if (!strcmp(optarg, "mlp")) what = PATCH_MLP;
            else if (!strcmp(optarg, "heads") || !strcmp(optarg, "head")) what = PATCH_HEAD;
            else {
                fprintf(stderr, "gptstep patch: --what expects resid, mlp or heads, got '%s'\n", optarg);
                return 2;
            }
            break;
        case 'h': fputs(PATCH_HELP, stdout); return 0;
        default: return cli_bad_option("patch", c, argv);
        }
    }
    if (!clean || !corrupt || (!target && !metric_text) || optind < argc) {
        fprintf(stderr, "gptstep patch: needs --clean TEXT, --corrupt TEXT and --target \" token\" or --metric M (see 'gptstep patch --help')\n");
        return 2;
    }
    if (target && metric_text) {
        fprintf(stderr, "gptstep patch: give --target, --target-id or --metric, not two of them\n");
        return 2;
    }
    Gen g;
    Err err;
    if (gen_open(&g, model, TRACE_FULL, &err)) {
        fprintf(stderr, "gptstep: %s\n", err.msg);
        return 1;
    }
    int *a = NULL, *b = NULL, *t = NULL, na, nb, nt = 1, rc = 1;
    char idtext[32], label[300];
    Metric metric = {-1, -1};
    if (target_id >= 0) { /* the token's own piece, for the messages */
        if (target_id >= g.model.cfg.n_vocab) {
            fprintf(stderr, "gptstep patch: --target-id %ld is out of range 0..%d\n", target_id, g.model.cfg.n_vocab - 1);
            gen_close(&g);
            return 2;
        }
        snprintf(idtext, sizeof idtext, "id %ld", target_id);
        target = idtext;
        t = malloc(sizeof(int));
        t[0] = (int)target_id, nt = 1;
    }
    Err em;
    if (encode(&g, clean, &a, &na, "--clean", &err) || encode(&g, corrupt, &b, &nb, "--corrupt", &err) ||
        (!t && !metric_text && encode(&g, target, &t, &nt, "--target", &err))) {
        fprintf(stderr, "gptstep patch: %s\n", err.msg);
    } else if (metric_text && metric_parse(metric_text, g.tok, g.model.cfg.n_vocab, &metric, &em)) {
        fprintf(stderr, "gptstep patch: --metric %s\n", em.msg);
    } else if (na != nb) {
        fprintf(stderr, "gptstep patch: the clean text is %d tokens and the corrupted text %d: patching needs the same number\n", na, nb);
    } else if (nt != 1) {
        fprintf(stderr, "gptstep patch: --target \"%s\" is %d tokens, expected one (see 'gptstep tokens')\n", target, nt);
    } else {
        PatchSweep s;
        double t0 = now_seconds();
        if (!metric_text) metric = (Metric){t[0], -1};
        if (metric_text) metric_name(&metric, g.tok, TOK_SHOW_TERMINAL, label, sizeof label);
        else snprintf(label, sizeof label, "the logit of \"%s\"", target);
        if (patch_sweep(&g, a, b, na, metric, what, &s, &err)) {
            fprintf(stderr, "gptstep patch: %s\n", err.msg);
        } else if (s.too_close) {
            fprintf(stderr, "gptstep patch: %s is %.3f in the clean text and %.3f in the corrupted one, less than %.1f apart: nothing for a patch "
                    "to restore (the ratios would be noise); choose texts, or a metric, where they differ\n", label, s.clean_logit,
                    s.corrupt_logit, METRIC_MIN_SPAN);
            patch_sweep_free(&s);
        } else {
            rc = 0;
            const int NH = g.model.cfg.n_head;
            char piece[256];
            printf("patching %s of \"%s\" into \"%s\": how much of the clean %s comes back\n",
                   what == PATCH_RESID ? "the residual stream" : what == PATCH_MLP ? "the MLP outputs" : "the heads' outputs", clean,
                   corrupt, label + (metric_text ? 0 : 4));
            printf("%s: clean %.4f, corrupted %.4f; %d runs in %.2f s\n\n", metric_text ? "metric" : "logit", s.clean_logit, s.corrupt_logit,
                   s.rows * s.cols, now_seconds() - t0);
            if (s.cols > 1) {
                printf("%-6s", "");
                for (int p = 0; p < s.cols; p++) {
                    tok_show(g.tok, a[p], TOK_SHOW_SCREEN, piece, sizeof piece);
                    printf(" %7.7s", piece);
                }
                printf("\n");
            }
            for (int r = 0; r < s.rows; r++) {
                if (what == PATCH_HEAD) printf("%2d.%-3d", r / NH, r % NH);
                else printf("h.%-4d", r);
                for (int p = 0; p < s.cols; p++) printf(" %7.3f", s.restored[r * s.cols + p]);
                printf("\n");
            }
            if (out) {
                const char *dot = strrchr(out, '.');
                if (dot && !strcmp(dot, ".npy")) {
                    float *f = malloc(sizeof(float) * (size_t)s.rows * s.cols);
                    for (int i = 0; i < s.rows * s.cols; i++) f[i] = (float)s.restored[i];
                    int64_t shape[2] = {s.rows, s.cols};
                    if (npy_save(out, f, 2, shape, &err)) fprintf(stderr, "gptstep patch: %s\n", err.msg), rc = 1;
                    free(f);
                } else if ((metric_text ? metric_name(&metric, g.tok, TOK_SHOW_SCREEN, label, sizeof label) : (void)0),
                           draw(&s, &g, a, label, out, &err)) {
                    fprintf(stderr, "gptstep patch: %s\n", err.msg);
                    rc = 1;
                }
                if (rc == 0) printf("\n%s written\n", out);
            }
            patch_sweep_free(&s);
        }
    }
    free(a), free(b), free(t);
    gen_close(&g);
    return rc;
}
