/* viz_views.c - every view drawn headless on a test model and compared with its golden image
 * (tests/golden/NAME.png) within a small tolerance for layout, and its text (NAME.txt, the words of its
 * PDF export) exactly, so that a changed number fails; stepping forward then back redraws the same frame;
 * bad commands leave the viewer usable; exports to PNG, SVG and PDF are written.
 *     viz_views MODEL_DIR GOLDEN_DIR OUT_DIR [--update]      (--update rewrites the goldens) */
#define _DEFAULT_SOURCE /* popen */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "viz.h"
#include "vizint.h"
#include "lesson.h"

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

/* The words a view prints, as a reader of its PDF gets them (pdftotext, in drawing order): every number
 * and label on screen. Malloc'd, or NULL when the PDF cannot be written or read. */
static char *view_text(VizState *v, const char *pdf) {
    Err err;
    if (viz_export(v, pdf, W, H, &err)) return NULL;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "pdftotext -raw -enc UTF-8 '%s' - 2>/dev/null", pdf);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t n = 0, cap = 4096;
    char *t = malloc(cap);
    int c;
    while ((c = fgetc(p)) != EOF) {
        if (n + 2 > cap) t = realloc(t, cap *= 2);
        t[n++] = (char)c;
    }
    t[n] = 0;
    if (pclose(p) != 0) {
        free(t);
        return NULL;
    }
    return t;
}

/* The view's text against its golden text (NAME.txt): a changed digit fails, whatever the pixels say. */
static void golden_text(VizState *v, const char *name) {
    char gp[1024], op[1024];
    snprintf(gp, sizeof gp, "%s/%s.txt", golden_dir, name);
    snprintf(op, sizeof op, "%s/%s.pdf", out_dir, name);
    char *got = view_text(v, op);
    CHECK(got != NULL, "view '%s': no text from its PDF (%s; is pdftotext installed?)", name, op);
    if (!got) return;
    if (update) {
        FILE *f = fopen(gp, "w");
        CHECK(f && fputs(got, f) >= 0 && fclose(f) == 0, "writing %s", gp);
    } else {
        char *want = NULL;
        size_t n = 0;
        Err err;
        int ok = read_file(gp, &want, &n, &err) == 0;
        CHECK(ok, "golden text %s is missing (regenerate with 'make goldens')", gp);
        if (ok) {
            size_t i = 0;
            while (got[i] && got[i] == want[i]) i++;
            int line = 1;
            for (size_t k = 0; k < i; k++) line += want[k] == '\n';
            CHECK(!strcmp(got, want), "view '%s' prints other text than %s from line %d: '%.60s' where the golden has '%.60s'",
                  name, gp, line, got + i, want + i);
        }
        free(want);
    }
    free(got);
}

static void golden(VizState *v, const char *name) {
    golden_text(v, name);
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

/* Numbers at four decimals, unless that would show a value that is not zero as 0.0000 (a weight of
 * 7.18e-07 was printed 0.0000). */
static void small_numbers(void) {
    static const struct { double x; int sign; const char *want; } C[] = {
        {7.18e-07, 0, "7.18e-07"}, {0.5, 0, "0.5000"}, {0, 0, "0.0000"}, {-3e-06, 1, "-3e-06"}, {0.00005, 0, "0.0001"},
        {0.000049, 0, "4.9e-05"}, {0.25, 1, "+0.2500"}, {1e-30, 0, "1e-30"},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        char b[32];
        viz_num4(C[i].x, C[i].sign, b, sizeof b);
        CHECK(!strcmp(b, C[i].want), "viz_num4(%g) = '%s', expected '%s'", C[i].x, b, C[i].want);
    }
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

/* The cell panel's lines, parsed as a student would read them: each number is the value used (dot,
 * row max and weight given from an independent computation), and q.k / sqrt(d), exp(score - row max)
 * and e / Z give the shown results with a calculator. */
static int cell_numbers_add_up(VizState *v, const CellBreakdown *cb, double dot, double mx, float weight, int verbose) {
    char lines[12][256];
    int nl = viz_cell_lines(v, cb, lines, 12), HS = cb->hs;
    double X = 0, D = 0, S = 0, M = 0, E = 0, E2 = 0, Zs = 0, Z2 = 0, Wt = 0, diff = 0;
    int hs = 0, got = 0;
    for (int i = 0; i < nl; i++) {
        char *p;
        if ((p = strstr(lines[i], "q\xC2\xB7k = "))) got += sscanf(p, "q\xC2\xB7k = %lf", &X);
        if ((p = strstr(lines[i], "\xE2\x88\x9A" "d = \xE2\x88\x9A"))) got += sscanf(p, "\xE2\x88\x9A" "d = \xE2\x88\x9A%d = %lf", &hs, &D) == 2;
        if ((p = strstr(lines[i], "score = q\xC2\xB7k \xC3\xB7 \xE2\x88\x9A" "d = "))) got += sscanf(p, "score = q\xC2\xB7k \xC3\xB7 \xE2\x88\x9A" "d = %lf", &S);
        if ((p = strstr(lines[i], "row max (kept keys) = "))) got += sscanf(p, "row max (kept keys) = %lf", &M);
        if ((p = strstr(lines[i], "= exp("))) got += sscanf(p, "= exp(%lf) = %lf", &diff, &E) == 2;
        if (strstr(lines[i], "max) = ") && strstr(lines[i], "Z = ")) got += sscanf(strstr(lines[i], "Z = "), "Z = %*[^=]= %lf", &Zs);
        if ((p = strstr(lines[i], "weight = "))) got += sscanf(p, "weight = %lf \xC3\xB7 %lf = %lf", &E2, &Z2, &Wt) == 3;
    }
    int ok = got == 7, which = 0;
    /* each number as printed is the value used, to the digits shown */
    if (!(fabs(X - dot) <= 0.5e-6 + 1e-6 * fabs(dot) && hs == HS && fabs(D - sqrt(HS)) <= 0.5e-6 && fabs(S - cb->score) <= 0.5e-4)) ok = 0, which |= 1;
    if (!(fabs(M - mx) <= 0.5e-4 && fabs(Wt - weight) <= 0.5e-4)) ok = 0, which |= 2;
    /* with a calculator: q.k / sqrt(d) = score, score - max, exp of it = e (to its 6 digits), e / Z = weight */
    if (!(fabs(X / D - S) <= 0.5e-4 + 1e-9)) ok = 0, which |= 4;
    if (!(fabs((S - M) - diff) <= 1.0e-4 + 1e-9 && fabs(exp(diff) - E) <= 0.5e-6 * E * 1.0001 + 0.5 * pow(10, floor(log10(E)) - 5))) ok = 0, which |= 8;
    /* e and Z carry 6 digits: their quotient is known to about 1e-6, so a weight half-way between two
     * 4-digit values may show either */
    if (!(E2 == E && Z2 == Zs && fabs(E / Zs - Wt) <= 0.5e-4 + 2e-6)) ok = 0, which |= 16;
    if (!ok && verbose)
        fprintf(stderr, "cell %d %d: q.k %.6f (true %.6f), sqrt(d) %.6f, score %.4f (q.k/sqrt(d) = %.6f), max %.4f, exp(%.6f) = %.6g (shown %.6g), "
                        "weight %.6g / %.6g = %.6f (shown %.4f, true %.6f), %d numbers found, checks failed %d\n", cb->q, cb->k, X, dot, D, S, X / D, M, diff,
                exp(diff), E, E, Zs, E / Zs, Wt, weight, got, which);
    return ok;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: viz_views MODEL_DIR GOLDEN_DIR OUT_DIR [--update]\n");
        return 2;
    }
    golden_dir = argv[2], out_dir = argv[3];
    update = argc > 4 && strcmp(argv[4], "--update") == 0;
    small_numbers();
    mkdir(out_dir, 0755);
    Err err;
    { /* a window closed while its model loads stops the load at once (it went on for 21 s on XL) */
        VizState *w = calloc(1, sizeof *w);
        viz_init(w);
        snprintf(w->run.model_arg, sizeof w->run.model_arg, "%s", argv[1]);
        atomic_store(&w->ui.stop, 1);
        CHECK(viz_load_and_run(w, &err) != 0 && strstr(err.msg, "loading stopped") && !w->run.loaded, "a stopped load fails at once: '%s'",
              err.msg);
        viz_free(w);
        free(w);
    }
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", argv[1]);
    v->run.gen.sampler.seed = 7;
    CHECK(viz_load_and_run(v, &err) == 0, "load: %s", err.msg);
    if (!v->run.loaded) return check_report("viewer");
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
    run(v, "presenter on");
    run(v, "colorblind on");
    run(v, "help on");
    golden(v, "presenter-colorblind-help");
    run(v, "help off");
    run(v, "presenter off");
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

    /* a branch: pick a token; both paths are kept and B switches between them */
    run(v, "last");
    int at = v->run.step, n_before = v->run.gen.trace.n_pos;
    int *orig = malloc(sizeof(int) * (size_t)n_before);
    for (int i = 0; i < n_before; i++) orig[i] = v->run.gen.trace.pos[i].token;
    int orig_next = v->run.gen.trace.steps[at].chosen;
    run(v, "prev");
    run(v, "prev"); /* back two steps: the branch starts there */
    int fork = v->run.step;
    run(v, "pick 198");
    CHECK(v->run.n_branches == 2 && v->run.branch == 1, "a pick makes a second branch (%d branches)", v->run.n_branches);
    CHECK(v->run.step == fork + 1 && v->run.gen.trace.pos[viz_n_shown(v) - 1].token == 198, "the branch continues from the picked token");
    CHECK(viz_picked(v, viz_n_shown(v) - 1), "the picked token is marked as picked by hand");
    run(v, "prev");
    CHECK(v->run.gen.trace.steps[v->run.step].chosen == 198 && v->run.gen.trace.steps[v->run.step].sampler.greedy == -1,
          "stepping back shows the picked token as the choice");
    run(v, "branch 0");
    CHECK(v->run.branch == 0 && v->run.gen.trace.n_pos == n_before, "branch 0 brings back the original path (%d positions, want %d)",
          v->run.gen.trace.n_pos, n_before);
    int same_path = v->run.gen.trace.n_pos == n_before && v->run.gen.trace.steps[v->run.gen.trace.n_steps - 1].chosen == orig_next;
    for (int i = 0; same_path && i < n_before; i++) same_path = v->run.gen.trace.pos[i].token == orig[i];
    CHECK(same_path, "the original continuation is kept token for token");
    CHECK(!viz_picked(v, fork + viz_prompt_len(v)), "the original path's token is not marked as picked");
    run(v, "branch next");
    CHECK(v->run.branch == 1 && v->run.gen.trace.pos[fork + viz_prompt_len(v)].token == 198, "branch next returns to the picked path");
    run(v, "branch 0");
    free(orig);

    /* the cell panel: every number recomputes from the trace's q and k, and the arithmetic shown adds up */
    run(v, "layer 1");
    run(v, "head 2");
    run(v, "cell 6 3");
    {
        CellBreakdown cb;
        CHECK(viz_cell_breakdown(v, 6, 3, &cb) == 0, "cell 6 3 has a breakdown");
        const Gpt2Config *c = &v->run.gen.model.cfg;
        int HS = c->n_embd / c->n_head, K = v->run.gen.trace.pos[6].n_keys;
        const float *q = viz_tensor(v, TK_Q, 1, 6) + 2 * HS, *k = viz_tensor(v, TK_K, 1, 3) + 2 * HS;
        const float *sc = viz_tensor(v, TK_SCORES, 1, 6) + (size_t)2 * K, *wt = viz_tensor(v, TK_WEIGHTS, 1, 6) + (size_t)2 * K;
        double dot = 0, mx = -1e30, z = 0;
        for (int i = 0; i < HS; i++) dot += (double)q[i] * k[i];
        for (int j = 0; j <= 6; j++) mx = sc[j] > mx ? sc[j] : mx;
        for (int j = 0; j <= 6; j++) z += exp(sc[j] - mx);
        CHECK(fabs(cb.dot - dot) < 1e-9 && fabs(cb.dot / sqrt(HS) - sc[3]) < 1e-5, "q.k %.6f and the recorded score %.6f agree", dot, sc[3]);
        CHECK(fabs(cb.row_max - mx) < 1e-7 && fabs(cb.z - z) < 1e-6 * z, "row max %.6f and normaliser %.6f recompute", mx, z);
        CHECK(fabs(exp(sc[3] - mx) / z - wt[3]) < 1e-6, "softmax of the row gives the recorded weight");
        CHECK(cell_numbers_add_up(v, &cb, dot, mx, wt[3], 1), "the cell panel of cell 6 3 is true and adds up");
        /* and every kept cell of every head of every layer */
        int bad_cells = 0, cells = 0;
        for (int l = 0; l < c->n_layer; l++)
            for (int hh = 0; hh < c->n_head; hh++) {
                char cmd[64];
                snprintf(cmd, sizeof cmd, "layer %d", l);
                run(v, cmd);
                snprintf(cmd, sizeof cmd, "head %d", hh);
                run(v, cmd);
                for (int qq = 0; qq < viz_n_shown(v); qq++)
                    for (int kk = 0; kk <= qq; kk++) {
                        CellBreakdown b;
                        if (viz_cell_breakdown(v, qq, kk, &b)) { bad_cells++; continue; }
                        int K2 = v->run.gen.trace.pos[qq].n_keys;
                        const float *w2 = viz_tensor(v, TK_WEIGHTS, l, qq) + (size_t)hh * K2;
                        bad_cells += !cell_numbers_add_up(v, &b, b.dot, b.row_max, w2[kk], 1);
                        cells++;
                    }
            }
        CHECK(bad_cells == 0 && cells > 100, "the cell panel adds up with a calculator in all %d kept cells (%d do not)", cells, bad_cells);
        run(v, "layer 1");
        run(v, "head 2");
        CHECK(viz_cell_breakdown(v, 3, 6, &cb) == 0 && !cb.kept && cb.e == 0, "a key after the query is masked: weight 0");
    }
    run(v, "key none");

    /* heads are counted from 0 on the keys too: key 3 selects head 3 */
    Err kerr;
    CHECK(viz_key(v, "3", 0, 0, &kerr) == 0 && v->view.head == 3, "key 3 selects head 3 (got %d)", v->view.head);
    CHECK(viz_key(v, "0", 0, 0, &kerr) == 0 && v->view.head == 0, "key 0 selects head 0");

    /* entropy says which distribution it describes: the model's does not move with the temperature */
    run(v, "last");
    run(v, "top-k 0");
    run(v, "top-p 1");
    run(v, "temperature 0.5");
    viz_prepare(v);
    double h_model = v->run.d.entropy, h_cold = v->run.d.samp_entropy;
    run(v, "temperature 5");
    viz_prepare(v);
    CHECK(v->run.d.entropy == h_model && v->run.d.samp_entropy > h_cold + 0.1,
          "model entropy stays %.3f; the sampled-from entropy follows T (%.3f at T=0.5, %.3f at T=5)", h_model, h_cold, v->run.d.samp_entropy);
    CHECK(strstr(v->ui.message, "drawn again") != NULL, "changing the temperature says the next token was drawn again");
    run(v, "temperature 1");
    run(v, "top-k 40");
    /* the same seed and settings choose the same token at a position however it was reached (lesson 7
     * showed two different tokens for the same settings): drawn again after a change and back, and
     * drawn by a fresh run of the same prompt */
    {
        const Trace *tr = &v->run.gen.trace;
        int c0 = tr->steps[tr->n_steps - 1].chosen, n0 = tr->n_pos;
        run(v, "temperature 3");
        run(v, "temperature 1");
        CHECK(tr->steps[tr->n_steps - 1].chosen == c0, "T 1 -> 3 -> 1 draws the same token again (%d, then %d)", c0,
              tr->steps[tr->n_steps - 1].chosen);
        run(v, "first");
        int first_choice = tr->steps[0].chosen;
        run(v, "temperature 3");
        run(v, "temperature 1");
        run(v, "first");
        CHECK(tr->steps[0].chosen == first_choice && tr->n_pos >= n0 - 1, "the prompt's choice is the same after a change and back (%d, %d)",
              first_choice, tr->steps[0].chosen);
        char pr[2048];
        snprintf(pr, sizeof pr, "prompt %s", v->run.prompt);
        run(v, "temperature 3");
        run(v, pr);
        run(v, "temperature 1");
        CHECK(tr->steps[0].chosen == first_choice, "a change at step 0 and back draws the prompt's first choice again (%d, %d)", first_choice,
              tr->steps[0].chosen);
        run(v, "last");
    }

    /* zoom: a window of positions around the query, which follows it */
    run(v, "zoom 4");
    run(v, "query 2");
    int first, count;
    viz_heatmap_window(v, 0, &first, &count);
    CHECK(count == 4 && first <= 2 && 2 < first + count, "zoom 4 shows 4 positions around the query (%d from %d)", count, first);
    run(v, "pan right");
    viz_heatmap_window(v, 0, &first, &count);
    CHECK(first > 0, "pan right moves the window");
    run(v, "zoom fit");
    run(v, "pan follow");
    viz_heatmap_window(v, 0, &first, &count);
    CHECK(first == 0 && count == viz_n_shown(v), "zoom fit shows every position");
    /* a long text on a small screen: the heatmap says which positions it shows; - shows more, Z every one
     * (they did nothing when the screen limited the window) */
    {
        char keep[1024];
        snprintf(keep, sizeof keep, "prompt %s", v->run.prompt);
        char longp[2048] = "prompt";
        for (int i = 0; i < 30; i++) strcat(longp, " once upon a time");
        run(v, longp);
        v->view.zoom = 0;
        run(v, "view attention");
        cairo_surface_t *sm = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 640, 360);
        cairo_t *cr = cairo_create(sm);
        viz_draw(v, cr, 640, 360);
        int auto_count = v->ui.heat_shown, n_all = viz_n_shown(v);
        run(v, "zoom out");
        viz_draw(v, cr, 640, 360);
        int out_count = v->ui.heat_shown;
        run(v, "zoom fit");
        viz_draw(v, cr, 640, 360);
        CHECK(auto_count < n_all && out_count > auto_count && v->ui.heat_shown == n_all,
              "a long text on a small screen: %d of %d positions, - shows %d, Z every one (%d)", auto_count, n_all, out_count, v->ui.heat_shown);
        cairo_destroy(cr);
        cairo_surface_destroy(sm);
        run(v, keep);
        run(v, "view all");
    }

    /* ablation: a head knocked out reruns the same text; the clean probabilities are kept to compare;
     * switching it back on gives the clean run again, bit for bit */
    {
        run(v, "last");
        int pos = viz_n_shown(v) - 1, V = v->run.gen.model.cfg.n_vocab, n_before = v->run.gen.trace.n_pos;
        const float *p0 = viz_tensor(v, TK_PROBS, 0, pos);
        float *clean = malloc(sizeof(float) * (size_t)V);
        memcpy(clean, p0, sizeof(float) * (size_t)V);
        run(v, "ablate 1.2");
        CHECK(v->run.gen.state.iv.n == 1 && v->run.gen.trace.n_pos == n_before, "ablate 1.2 reruns the same %d positions", n_before);
        viz_prepare(v); /* the clean probabilities of the shown position come from its kept ln_f */
        CHECK(fabs(viz_clean_prob(v, pos, 5) - clean[5]) <= 1e-6 * fmax(1, clean[5]),
              "the clean probabilities are kept beside the ablated ones (%g vs %g)", viz_clean_prob(v, pos, 5), clean[5]);
        const float *p1 = viz_tensor(v, TK_PROBS, 0, pos);
        double moved = 0;
        for (int i = 0; i < V; i++) moved = fmax(moved, fabs(p1[i] - clean[i]));
        CHECK(moved > 0, "knocking out a head changes the prediction (by %.2g at most)", moved);
        CHECK(strstr(v->run.gen.trace.interventions, "1.2") != NULL, "the trace says what is switched off");
        int restores = v->run.restores;
        run(v, "ablate 1.2"); /* back on */
        CHECK(v->run.restores == restores + 1, "switching the last part back on brings the kept clean run back (no rerun)");
        const float *p2 = viz_tensor(v, TK_PROBS, 0, pos);
        CHECK(v->run.gen.state.iv.n == 0 && memcmp(p2, clean, sizeof(float) * (size_t)V) == 0,
              "switching it back on restores the clean run exactly");
        CHECK(viz_clean_prob(v, pos, 5) < 0, "no comparison without an ablation");
        run(v, "ablate pos");
        run(v, "ablate 0.mlp.3");
        run(v, "ablate clear");
        CHECK(v->run.gen.state.iv.n == 0, "ablate clear switches everything back on");
        /* mean ablation: the part becomes its mean over the text's positions, not zero */
        run(v, "ablate 1.2");
        float *zeroed = malloc(sizeof(float) * (size_t)V);
        memcpy(zeroed, viz_tensor(v, TK_PROBS, 0, pos), sizeof(float) * (size_t)V);
        run(v, "ablate-mode mean");
        CHECK(strstr(v->run.gen.trace.interventions, "(mean)") != NULL, "ablate-mode mean reruns with means ('%s')",
              v->run.gen.trace.interventions);
        const float *pm = viz_tensor(v, TK_PROBS, 0, pos);
        const float *hm = viz_tensor(v, TK_HEADS, 1, 0), *hm2 = viz_tensor(v, TK_HEADS, 1, pos);
        int HS = v->run.gen.model.cfg.n_embd / v->run.gen.model.cfg.n_head;
        CHECK(hm && hm2 && hm[2 * HS] != 0 && hm[2 * HS] == hm2[2 * HS] && memcmp(pm, zeroed, sizeof(float) * (size_t)V) != 0,
              "a mean-ablated head outputs the same non-zero mean at every position, and the prediction differs from zero ablation");
        run(v, "ablate-mode zero");
        CHECK(memcmp(viz_tensor(v, TK_PROBS, 0, pos), zeroed, sizeof(float) * (size_t)V) == 0, "ablate-mode zero gives zero ablation back exactly");
        run(v, "ablate clear");
        free(zeroed);
        /* a toggle after the first reruns from the changed layer on; the result is the full pass's, bit
         * for bit, in every tensor */
        run(v, "ablate 1.2");
        int replays = v->run.replays, from1 = v->run.reruns_from[1], from0 = v->run.reruns_from[0];
        run(v, "ablate 1.mlp.7");
        run(v, "ablate 0.3");
        CHECK(v->run.replays == replays && v->run.reruns_from[1] == from1 + 1 && v->run.reruns_from[0] == from0 + 1,
              "later toggles rerun from their layer (layer 1, then layer 0) instead of the whole pass");
        Trace *tr = &v->run.gen.trace;
        const int n = tr->n_pos, ntr = tr->n_ids;
        /* every recorded float: each position's data and its scores up to itself, which follow it */
        size_t total = 0;
        for (int p = 0; p < n; p++) total += tr->pos[p].n_floats + tr->pos[p].n_scores;
        float *kept = malloc(sizeof(float) * total), *at = kept;
        for (int p = 0; p < n; p++) {
            const size_t nf = tr->pos[p].n_floats + tr->pos[p].n_scores;
            memcpy(at, tr->pos[p].data, sizeof(float) * nf), at += nf;
        }
        int *toks = malloc(sizeof(int) * (size_t)n), *chosen = malloc(sizeof(int) * (size_t)tr->n_steps);
        SamplerSettings *set = malloc(sizeof(SamplerSettings) * (size_t)tr->n_steps);
        for (int p = 0; p < n; p++) toks[p] = tr->pos[p].token;
        for (int i = 0; i < tr->n_steps; i++) chosen[i] = tr->steps[i].chosen, set[i] = tr->steps[i].sampler;
        Err e2;
        CHECK(gen_replay(&v->run.gen, toks, tr->steps[0].n_pos, tr->n_steps, chosen, set, &e2) == 0, "the full pass runs");
        int same = 1;
        at = kept;
        for (int p = 0; p < n; p++) {
            const size_t nf = tr->pos[p].n_floats + tr->pos[p].n_scores;
            same &= memcmp(at, tr->pos[p].data, sizeof(float) * nf) == 0;
            at += nf;
        }
        CHECK(same, "the rerun from layer 0 equals the full pass in all %d tensors of %d positions, bit for bit", ntr, n);
        free(kept), free(toks), free(chosen), free(set);
        run(v, "ablate clear");
        bad(v, "ablate-mode half", "ablate-mode expects");
        /* a prompt that cannot run (longer than the context) leaves the run as it was: same prompt, same
         * positions, same step, nothing rerun */
        {
            run(v, "last");
            int pos0 = v->run.gen.trace.n_pos, step0 = v->run.step, replays0 = v->run.replays;
            long epoch0 = v->run.epoch;
            char *prompt0 = xstrdup(v->run.prompt), *too_long = xmalloc(64 * 1024);
            int k = snprintf(too_long, 64 * 1024, "prompt");
            for (int i = 0; i < 2 * v->run.gen.model.cfg.n_ctx && k < 60000; i++) k += snprintf(too_long + k, 64 * 1024 - (size_t)k, " dog");
            bad(v, too_long, "longer than the model's");
            CHECK(v->run.gen.trace.n_pos == pos0 && v->run.step == step0 && v->run.epoch == epoch0 &&
                      v->run.replays == replays0 && !strcmp(v->run.prompt, prompt0),
                  "a failed prompt leaves the run as it was (%d positions at step %d; now %d at %d)", pos0, step0,
                  v->run.gen.trace.n_pos, v->run.step);
            free(prompt0), free(too_long);
        }
        /* with a part off, the heatmaps, vectors and lens can show the clean run or the difference */
        {
            run(v, "ablate clear");
            run(v, "last");
            int q = viz_n_shown(v) - 1, nh = v->run.gen.model.cfg.n_head, K = v->run.gen.trace.pos[q].n_keys;
            size_t nw = (size_t)nh * K;
            float *cw = malloc(sizeof(float) * nw), *cr = malloc(sizeof(float) * 128);
            memcpy(cw, viz_tensor(v, TK_WEIGHTS, 1, q), sizeof(float) * nw);
            memcpy(cr, viz_tensor(v, TK_RESID_OUT, 1, q), sizeof(float) * 64);
            run(v, "ablate 0.1");
            viz_prepare(v);
            const float *aw = viz_tensor(v, TK_WEIGHTS, 1, q), *sh = viz_tensor_shown(v, TK_WEIGHTS, 1, q);
            CHECK(sh == aw, "show-run ablated (the default) shows the ablated run");
            run(v, "show-run clean");
            sh = viz_tensor_shown(v, TK_WEIGHTS, 1, q);
            CHECK(sh && memcmp(sh, cw, sizeof(float) * nw) == 0 && memcmp(viz_tensor_shown(v, TK_RESID_OUT, 1, q), cr, sizeof(float) * 64) == 0,
                  "show-run clean shows the clean run's weights and residual stream, bit for bit");
            run(v, "show-run difference");
            sh = viz_tensor_shown(v, TK_WEIGHTS, 1, q);
            double worst = 0, moved = 0;
            for (size_t i = 0; sh && i < nw; i++) worst = fmax(worst, fabs(sh[i] - (aw[i] - cw[i]))), moved = fmax(moved, fabs(sh[i]));
            CHECK(sh && worst == 0 && moved > 0, "show-run difference shows ablated - clean (largest change %.3g)", moved);
            CHECK(viz_run_label(v) && strstr(viz_run_label(v), "clean"), "titles say which run they show");
            CHECK(v->run.d.has_clean_lens, "the logit lens has the clean run's tokens too");
            cairo_surface_destroy(draw(v)); /* every view draws the difference */
            CHECK(viz_key(v, "d", 0, 0, &kerr) == 0 && v->view.run_shown == RUN_ABLATED, "D cycles back to the ablated run");
            run(v, "ablate clear");
            CHECK(viz_run_label(v) == NULL && viz_tensor_shown(v, TK_WEIGHTS, 1, q) == viz_tensor(v, TK_WEIGHTS, 1, q),
                  "with nothing off there is one run to show");
            free(cw), free(cr);
        }
        /* two texts side by side: B runs as a prompt would, A is kept; tensors of A, B and A - B */
        {
            run(v, "ablate clear");
            run(v, "last");
            int q = 3, nh = v->run.gen.model.cfg.n_head, nA = v->run.gen.trace.n_pos;
            float a_w[64];
            int K0 = v->run.gen.trace.pos[q].n_keys, K = K0;
            memcpy(a_w, viz_tensor(v, TK_WEIGHTS, 1, q), sizeof(float) * (size_t)nh * K0);
            run(v, "compare Once upon a time there lived a");
            CHECK(v->run.other && v->run.other_kind == OTHER_TEXT && v->run.gen.trace.n_pos == nA, "compare runs B and keeps A's %d positions", nA);
            viz_prepare(v);
            CHECK(viz_tensor_shown(v, TK_WEIGHTS, 1, q) == viz_tensor(v, TK_WEIGHTS, 1, q) && viz_run_label(v) && !strcmp(viz_run_label(v), "text A"),
                  "show-run ablated shows text A");
            run(v, "show-run clean");
            const float *bw = viz_tensor_shown(v, TK_WEIGHTS, 1, q);
            float b_w[64];
            K = v->run.gen.trace.pos[q].n_keys; /* A's layout, which B's rows are shown in */
            int ok = bw != NULL && nh * K <= 64;
            if (ok) memcpy(b_w, bw, sizeof(float) * (size_t)nh * K);
            run(v, "show-run difference");
            const float *dw = viz_tensor_shown(v, TK_WEIGHTS, 1, q), *aw = viz_tensor(v, TK_WEIGHTS, 1, q);
            double worst = 0;
            for (int i = 0; ok && dw && i < nh * K; i++) worst = fmax(worst, fabs(dw[i] - (aw[i] - b_w[i])));
            CHECK(ok && dw && worst == 0, "A - B is A's weights minus B's, element by element (layouts aligned)");
            double moved = 0;
            for (int h = 0; h < nh; h++)
                for (int k = 0; k <= q; k++) moved = fmax(moved, fabs(aw[h * K + k] - a_w[h * K0 + k]));
            CHECK(moved < 1e-5, "A is the same text as before the comparison (largest change %.2g)", moved);
            cairo_surface_destroy(draw(v));
            char *b_text = xstrdup(v->run.other_text);
            run(v, "ablate 0.1");
            CHECK(v->run.other_kind == OTHER_CLEAN, "switching a part off ends the comparison (the clean run is compared instead)");
            run(v, "ablate clear");
            run(v, "ablate-mode zero");
            run(v, "compare off");
            CHECK(!viz_comparing(v), "compare off");
            /* B's tensors are B's own: the same text run as the prompt gives them bit for bit */
            char line[300];
            snprintf(line, sizeof line, "prompt %s", b_text);
            run(v, line);
            const float *own = viz_tensor(v, TK_WEIGHTS, 1, q);
            int K2 = v->run.gen.trace.pos[q].n_keys, same = ok && own;
            for (int h = 0; same && h < nh; h++)
                for (int k = 0; k < K; k++) same &= b_w[h * K + k] == (k < K2 ? own[h * K2 + k] : 0.0f);
            CHECK(same, "text B as shown equals B run as the prompt, bit for bit (%d keys shown in A's %d)", K2, K);
            free(b_text);
        }
        /* experiments in the viewer: attribution at the query, patching against text B */
        {
            run(v, "ablate clear");
            run(v, "compare off");
            run(v, "last");
            bad(v, "patch resid", "compare TEXT");
            run(v, "attribute");
            const VizExperiment *e = &v->run.exp;
            CHECK(e->kind == EXP_ATTRIBUTION && v->view.only == VIEW_EXPERIMENT, "attribute shows the experiment view");
            CHECK(fabs(e->attr.sum - e->attr.logit) < 1e-3 * fmax(1, fabs(e->attr.logit)),
                  "the attribution's parts add up to the logit (%.5f vs %.5f)", e->attr.sum, e->attr.logit);
            cairo_surface_destroy(draw(v));
            int n = v->run.gen.trace.n_pos, first = v->run.gen.trace.pos[0].token;
            char text[512] = "", piece[128];
            for (int p = 0; p < n; p++) { /* B: the same text with its first token changed */
                int len;
                const char *b = tok_bytes(v->run.gen.tok, p == 0 ? (first == 464 ? 7454 : 464) : v->run.gen.trace.pos[p].token, &len);
                snprintf(piece, sizeof piece, "%.*s", len, b);
                strncat(text, piece, sizeof text - strlen(text) - 1);
            }
            char line[600];
            snprintf(line, sizeof line, "compare %s", text);
            run(v, line);
            if (v->run.other && v->run.other->n_pos == n) {
                run(v, "patch resid");
                CHECK(e->kind == EXP_PATCHING && e->sweep.rows == v->run.gen.model.cfg.n_layer && e->sweep.cols == n,
                      "patch resid sweeps layers x positions (%d x %d)", e->sweep.rows, e->sweep.cols);
                CHECK(fabs(e->sweep.restored[(e->sweep.rows - 1) * e->sweep.cols + n - 1] - 1) < 1e-6,
                      "patching the clean last residual stream restores all of it");
                CHECK(v->run.gen.trace.n_pos == n && v->run.gen.trace.pos[0].token == first, "text A is back after the sweep");
                cairo_surface_destroy(draw(v));
                int steps = v->run.gen.trace.n_steps;
                run(v, "last");
                run(v, "next");
                CHECK(v->run.gen.trace.n_steps == steps + 1, "generation goes on from text A after a sweep");
                run(v, "compare a b c");
                bad(v, "patch heads", "same number");
                /* a difference of two logits, attributed: the parts add up to it */
                run(v, "compare off");
                run(v, "attribute 464-7454");
                CHECK(e->kind == EXP_ATTRIBUTION && e->attr.token == 464 && e->attr.minus == 7454 &&
                          fabs(e->attr.sum - e->attr.logit) < 1e-3 * fmax(1, fabs(e->attr.logit)),
                      "attribute 464-7454: logit(464) - logit(7454), its parts add up (%.5f vs %.5f)", e->attr.sum, e->attr.logit);
                bad(v, "attribute 464-464", "the same token twice");
                bad(v, "attribute \" the\"-", "expected a \"quoted piece\" or a token id");
                /* text B the same as A: nothing to restore, said instead of a map of noise */
                char same[600] = "compare ";
                for (int p = 0; p < v->run.gen.trace.n_pos; p++) {
                    int len;
                    const char *b = tok_bytes(v->run.gen.tok, v->run.gen.trace.pos[p].token, &len);
                    snprintf(piece, sizeof piece, "%.*s", len, b);
                    strncat(same, piece, sizeof same - strlen(same) - 1);
                }
                run(v, same);
                run(v, "patch resid");
                CHECK(e->kind == EXP_PATCHING && e->sweep.too_close, "patching with B = A: too close (clean %.3f, corrupted %.3f)",
                      e->sweep.clean_logit, e->sweep.corrupt_logit);
                cairo_surface_destroy(draw(v));
                char ftext[256];
                double fnum;
                Err ferr;
                CHECK(lesson_fact(v, "restored 0 0", ftext, sizeof ftext, &fnum, &ferr) != 0 && strstr(ferr.msg, "nothing to restore"),
                      "the fact 'restored' says the sweep had nothing to restore: '%s'", ferr.msg);
            } else {
                CHECK(0, "text B has as many tokens as A (%d)", n);
            }
            run(v, "compare off");
            /* a branch and its original */
            run(v, "last");
            run(v, "step 2");
            int orig_next = v->run.gen.trace.steps[2].chosen;
            snprintf(line, sizeof line, "pick %d", orig_next == 11 ? 13 : 11);
            run(v, line);
            int nb = v->run.n_branches, cur = v->run.branch;
            run(v, "compare branch 0");
            CHECK(v->run.n_branches == nb && v->run.branch == cur && v->run.other && v->run.other_kind == OTHER_TEXT,
                  "compare branch 0 runs the original beside the branch, and keeps the branches (%d)", v->run.n_branches);
            int p3 = v->run.gen.trace.steps[2].pos0 + v->run.gen.trace.steps[2].n_pos; /* the first position after the pick */
            CHECK(v->run.other->n_pos > p3 - 1 && v->run.other->pos[p3 - 1].token == v->run.gen.trace.pos[p3 - 1].token &&
                      (v->run.other->n_pos <= p3 || v->run.other->pos[p3].token == orig_next),
                  "B is the original path: the same tokens up to the pick, then the token it chose");
            bad(v, "compare branch 9", "compare branch: expected 0..");
            run(v, "compare off");
            run(v, "branch 0");
            run(v, "view all");
        }
        /* right-clicks knock out what is under the mouse: a neuron in the vectors view (the one its
         * tooltip names), a sublayer in the pipeline, a head in the grid or the heatmap's title */
        run(v, "view all");
        run(v, "grid off");
        run(v, "layer 1");
        run(v, "stage L1.ffn");
        cairo_surface_destroy(draw(v));
        char cmd[128];
        const Hit *gelu = NULL, *attn = NULL, *title = NULL;
        for (int i = 0; i < v->ui.n_hits; i++) {
            const Hit *h = &v->ui.hits[i];
            if (h->kind == HIT_VECTOR && h->b == v->run.gen.model.cfg.n_inner && !gelu) {
                viz_knock_command(v, h->r.x + 1, h->r.y + h->r.h / 2, cmd, sizeof cmd);
                if (!strncmp(cmd, "ablate 1.mlp.", 13)) gelu = h;
            }
            if (h->kind == HIT_STAGE && h->b && viz_stage_layer(v, h->a) == 1 && (h->a - 1) % 6 == 1) attn = h;
            if (h->kind == HIT_GRID && h->r.w > h->r.h * 4) title = h;
        }
        CHECK(gelu && attn && title, "the vectors view, the pipeline and the heatmap's title can be right-clicked");
        if (gelu && attn && title) {
            double gx = gelu->r.x + gelu->r.w * 0.5;
            int want = (int)((gx - gelu->r.x) / gelu->r.w * gelu->b);
            char expect[64];
            snprintf(expect, sizeof expect, "ablate 1.mlp.%d", want);
            viz_knock_command(v, gx, gelu->r.y + gelu->r.h / 2, cmd, sizeof cmd);
            CHECK(!strcmp(cmd, expect), "right-click on mlp.gelu knocks out the neuron under the mouse ('%s', expected '%s')", cmd, expect);
            run(v, cmd);
            CHECK(viz_part_ablated(v, ABL_NEURON, 1, want) && viz_tensor(v, TK_GELU, 1, 0)[want] == 0,
                  "neuron %d of layer 1 is off: its gelu output is zero at every position", want);
            cairo_surface_destroy(draw(v));
            viz_knock_command(v, attn->r.x + attn->r.w / 2, attn->r.y + attn->r.h / 2, cmd, sizeof cmd);
            CHECK(!strcmp(cmd, "ablate 1.attn"), "right-click on an opened layer's attn box knocks out the sublayer ('%s')", cmd);
            viz_knock_command(v, title->r.x + title->r.w / 2, title->r.y + title->r.h / 2, cmd, sizeof cmd);
            snprintf(expect, sizeof expect, "ablate %d.%d", v->view.layer, v->view.head);
            CHECK(!strcmp(cmd, expect), "right-click on the heatmap's title knocks out its head ('%s')", cmd);
        }
        /* a left click on a head of the grid opens it: one command, "open L.H" */
        run(v, "ablate clear");
        run(v, "grid on");
        cairo_surface_destroy(draw(v));
        const Hit *cellh = NULL;
        for (int i = 0; i < v->ui.n_hits && !cellh; i++) {
            const Hit *h = &v->ui.hits[i];
            if (h->kind == HIT_GRID && h->r.w < h->r.h * 4 && (h->a != v->view.layer || h->b != v->view.head) && h->a > 0 && h->b > 0) cellh = h;
        }
        CHECK(cellh != NULL, "the grid has heads to click");
        if (cellh) {
            char expect[64];
            int hl = cellh->a, hh = cellh->b;
            snprintf(expect, sizeof expect, "open %d.%d", hl, hh);
            viz_click_command(v, cellh->r.x + cellh->r.w / 2, cellh->r.y + cellh->r.h / 2, cmd, sizeof cmd);
            CHECK(!strcmp(cmd, expect), "a click on a head of the grid sends '%s' (expected '%s')", cmd, expect);
            Err cerr;
            CHECK(viz_click(v, cellh->r.x + cellh->r.w / 2, cellh->r.y + cellh->r.h / 2, &cerr) == 0, "the click: %s", cerr.msg);
            CHECK(v->view.layer == hl && v->view.head == hh && v->view.main == MAIN_HEATMAP,
                  "the click opened head %d.%d's heatmap (layer %d, head %d, main %d)", hl, hh, v->view.layer, v->view.head, v->view.main);
        }
        /* the weighted sum of values: every query, head and layer, its sum over the keys equals the recorded
         * head output (to float rounding, and so to the four decimals the view prints) */
        {
            const Gpt2Config *hc = &v->run.gen.model.cfg;
            int HSv = hc->n_embd / hc->n_head, checked = 0, agree = 1;
            float *sum = xmalloc(sizeof(float) * (size_t)HSv);
            int keep_l = v->view.layer, keep_h = v->view.head;
            for (int l = 0; l < hc->n_layer; l++)
                for (int h = 0; h < hc->n_head; h++) {
                    v->view.layer = l, v->view.head = h;
                    for (int q = 0; q < viz_n_shown(v); q++) {
                        const float *rec;
                        if (viz_values_sum(v, q, sum, &rec)) continue;
                        checked++;
                        for (int i = 0; i < HSv; i++) {
                            char a4[32], b4[32];
                            snprintf(a4, sizeof a4, "%+.4f", sum[i]), snprintf(b4, sizeof b4, "%+.4f", rec[i]);
                            if (fabsf(sum[i] - rec[i]) > 1e-5f + 1e-5f * fabsf(rec[i]) || (strcmp(a4, b4) && fabsf(sum[i] - rec[i]) > 1e-6f))
                                agree = 0;
                        }
                    }
                }
            v->view.layer = keep_l, v->view.head = keep_h;
            free(sum);
            CHECK(checked > 0 && agree, "the weighted sum of values equals the recorded head output (%d queries x heads x layers)", checked);
            run(v, "view values");
            cairo_surface_destroy(draw(v));
            run(v, "view all");
        }
        /* a character split over two byte tokens shows as that character and which part each token holds
         * (it was "\\xe2\\x80", then "\\x9c") */
        {
            char keep[1024];
            snprintf(keep, sizeof keep, "prompt %s", v->run.prompt);
            run(v, "prompt She said \xE2\x80\x9Chello\xE2\x80\x9D");
            char p2[64], p3[64], p5[64];
            viz_piece_at(v, 2, p2, sizeof p2), viz_piece_at(v, 3, p3, sizeof p3), viz_piece_at(v, 5, p5, sizeof p5);
            CHECK(!strcmp(p2, "\xE2\x90\xA3\xE2\x80\x9C\xC2\xB9") && !strcmp(p3, "\xE2\x80\x9C\xC2\xB2") &&
                      !strcmp(p5, "\xE2\x80\x9D\xC2\xB9"),
                  "byte tokens show the character they share and their part: '%s' '%s' '%s'", p2, p3, p5);
            run(v, keep);
        }
        /* record: the lecture as given, written as a lesson that replays it exactly */
        {
            char recf[1024];
            snprintf(recf, sizeof recf, "record %s/recorded.lesson", out_dir);
            run(v, recf);
            const char *script[] = {"next", "layer 1", "head 2", "cell 2 1", "ablate 1.1", "next", "view attention", "record stop"};
            for (size_t i = 0; i < sizeof script / sizeof script[0]; i++) run(v, script[i]);
            bad(v, "record stop", "nothing is being recorded");
            bad(v, "record x.txt", "ending in .lesson");
            Lesson rl;
            Err le;
            CHECK(lesson_load(&rl, recf + 7, &le) == 0, "the recording is a lesson: %s", le.msg);
            VizState *w = calloc(1, sizeof *w);
            viz_init(w);
            CHECK(rl.n_steps == 5 && lesson_show(&rl, w, rl.n_steps - 1, &le) == 0, "the recording replays (%d steps): %s", rl.n_steps, le.msg);
            const Trace *ta = &v->run.gen.trace, *tb = &w->run.gen.trace;
            int same = w->run.loaded && ta->n_pos == tb->n_pos && v->run.step == w->run.step && v->view.layer == w->view.layer &&
                       v->view.head == w->view.head && v->view.key == w->view.key && viz_query_pos(v) == viz_query_pos(w) &&
                       v->view.only == w->view.only && v->run.gen.state.iv.n == w->run.gen.state.iv.n;
            for (int p = 0; same && p < ta->n_pos; p++) same = ta->pos[p].token == tb->pos[p].token;
            const float *la = viz_tensor(v, TK_LOGITS, 0, viz_n_shown(v) - 1), *lb = viz_tensor(w, TK_LOGITS, 0, viz_n_shown(w) - 1);
            same = same && la && lb && !memcmp(la, lb, sizeof(float) * (size_t)v->run.gen.model.cfg.n_vocab);
            CHECK(same, "the recorded lecture replays exactly: the same tokens, step, layer, head, cell, view, ablation and logits bit for bit");
            lesson_free(&rl);
            viz_free(w);
            free(w);
            run(v, "ablate clear");
            run(v, "view all");
        }
        /* attention on the text: a chip per position (clickable), one head or every head */
        run(v, "lines");
        CHECK(v->view.only == VIEW_LINES && !v->view.lines_all, "lines shows the view for one head");
        cairo_surface_destroy(draw(v));
        {
            int chips = 0, clicked = 0;
            for (int i = 0; i < v->ui.n_hits; i++)
                if (v->ui.hits[i].kind == HIT_TOKEN && v->ui.hits[i].b == -2) {
                    chips++;
                    if (v->ui.hits[i].a == 1 && !clicked) {
                        Err ce;
                        clicked = viz_click(v, v->ui.hits[i].r.x + 1, v->ui.hits[i].r.y + 1, &ce) == 0 && viz_query_pos(v) == 1;
                    }
                }
            CHECK(chips == viz_n_shown(v) && clicked, "attention on the text: a chip a position (%d of %d), a click selects it", chips, viz_n_shown(v));
        }
        run(v, "lines next");
        CHECK(v->view.lines_all, "lines next switches to every head");
        cairo_surface_destroy(draw(v));
        run(v, "query last");
        run(v, "view all");
        /* the head finder: before measuring it says how; then every head's scores as gptstep heads measures
         * them, a click on a score switches to it, a click on a head opens it */
        run(v, "view heads");
        cairo_surface_destroy(draw(v));
        CHECK(!v->run.head_scores && v->view.only == VIEW_HEADS, "view heads before measuring shows how to measure");
        run(v, "heads induction");
        {
            const Gpt2Config *hc = &v->run.gen.model.cfg;
            int NHh = hc->n_head, nL = hc->n_layer, R = 50, nt = 0;
            HeadScores *want = xcalloc((size_t)nL * NHh, sizeof *want);
            Gen gh;
            Err he;
            CHECK(gen_open(&gh, argv[1], TRACE_ATTN, &he) == 0 && heads_measure(&gh, NULL, &R, 0, want, &nt, &he) == 0, "heads: %s", he.msg);
            int same = v->run.head_scores != NULL;
            for (int i = 0; same && i < nL * NHh; i++) same = !memcmp(&v->run.head_scores[i], &want[i], sizeof *want);
            CHECK(same && v->view.only == VIEW_HEADS && v->view.head_score == 2, "heads induction: every head's scores as gptstep heads measures them");
            gen_close(&gh);
            free(want);
            CHECK(v->run.gen.trace.n_pos > 0 && !strcmp(v->run.ran_prompt, v->run.prompt), "the text is back after measuring");
            cairo_surface_destroy(draw(v));
            const Hit *tab = NULL, *hcell = NULL;
            for (int i = 0; i < v->ui.n_hits; i++) {
                const Hit *h = &v->ui.hits[i];
                if (h->kind == HIT_SCORE && h->a == 3) tab = h;
                if (h->kind == HIT_GRID && h->a == nL - 1 && h->b == NHh - 1 && !hcell) hcell = h;
            }
            CHECK(tab && hcell, "the head finder has score tabs and a cell per head");
            if (tab && hcell) {
                Err ce;
                CHECK(viz_click(v, tab->r.x + 2, tab->r.y + 2, &ce) == 0 && v->view.head_score == 3, "a click on 'duplicate' shows that score");
                cairo_surface_destroy(draw(v));
                CHECK(viz_click(v, hcell->r.x + 2, hcell->r.y + 2, &ce) == 0 && v->view.layer == nL - 1 && v->view.head == NHh - 1 &&
                          v->view.only == VIEW_ATTENTION,
                      "a click on a head of the finder opens its heatmap (layer %d head %d)", v->view.layer, v->view.head);
            }
            run(v, "view all");
        }
        bad(v, "open 5.0", "expected L.H");
        bad(v, "open 1", "expected L.H");
        bad(v, "open 1.4294967297", "expected L.H");
        run(v, "ablate clear");
        run(v, "stage none");
        /* ] and [ go on from "you are here" (the selected layer's attention), not from the embedding */
        run(v, "layer 1");
        run(v, "stage next");
        {
            char nm[64];
            viz_stage_name(v, v->view.stage, nm, sizeof nm);
            CHECK(!strcmp(nm, "L1.add_1") && v->view.layer == 1, "] with no stage goes on from layer 1's attention: '%s'", nm);
            run(v, "stage none");
            run(v, "stage prev");
            viz_stage_name(v, v->view.stage, nm, sizeof nm);
            CHECK(!strcmp(nm, "L1.ln_1"), "[ with no stage goes back from layer 1's attention: '%s'", nm);
            run(v, "stage none");
        }
        /* Ctrl+X says what it changed (it changed only a word in the header) */
        run(v, "ablate-mode toggle");
        CHECK(strstr(v->ui.message, "mean ablation") && strstr(v->ui.message, "nothing is off yet"), "ablate-mode with nothing off says so: '%s'",
              v->ui.message);
        run(v, "ablate 1.1");
        run(v, "ablate-mode zero");
        CHECK(strstr(v->ui.message, "zero ablation") && strstr(v->ui.message, "1.1 (zero)"), "ablate-mode with a head off says the rerun: '%s'",
              v->ui.message);
        run(v, "ablate clear");
        bad(v, "ablate 5.0", "layer 5 is out of range");
        bad(v, "ablate 1.mlp.9999", "neuron 9999 is out of range");
        free(clean);
    }

    /* Tab cycles through the single views, and V shows them all */
    CHECK(viz_key(v, "Tab", 0, 0, &kerr) == 0 && v->view.only == VIEW_TOKENS, "Tab shows the first single view");
    CHECK(viz_key(v, "v", 0, 0, &kerr) == 0 && v->view.only == VIEW_ALL, "V shows every view");

    /* bad input: a clear error, and the viewer stays usable */
    bad(v, "layer 9", "0..1");
    bad(v, "head x", "head expects");
    bad(v, "attention colourful", "scores|masked|weights");
    bad(v, "temperature 0", "0.001..100");
    bad(v, "bars 99", "1..40");
    bad(v, "branch 7", "branch expects 0..");
    bad(v, "stage L7.attn", "stage expects");
    bad(v, "temperature -1", "temperature expects");
    bad(v, "prompt \"\"", "some text");
    bad(v, "prompt bad \xff", "not valid UTF-8");
    bad(v, "model /nonexistent", "not found");
    bad(v, "frobnicate", "unknown command");
    bad(v, "export out.gif", ".png, .svg or .pdf");
    CHECK(v->run.loaded, "still loaded after the errors");
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
    /* SVG heatmaps are vector cells, not a bitmap a viewer would smear */
    {
        char path[1024], *svg;
        size_t len;
        Err e2;
        snprintf(path, sizeof path, "%s/export.svg", out_dir);
        CHECK(read_file(path, &svg, &len, &e2) == 0 && strstr(svg, "<image") == NULL, "the SVG holds no embedded image");
        if (len) free(svg);
    }
    /* an export never shows the message of the one before (nor any message) */
    {
        char a[1024], b[1024], ca[1100], cb[1100];
        snprintf(a, sizeof a, "%s/export-a.png", out_dir);
        snprintf(b, sizeof b, "%s/export-b.png", out_dir);
        snprintf(ca, sizeof ca, "export %s", a);
        snprintf(cb, sizeof cb, "export %s", b);
        run(v, ca);
        CHECK(strstr(v->ui.message, "exported") != NULL, "the window says where it exported");
        run(v, cb); /* with that message showing */
        cairo_surface_t *sa = cairo_image_surface_create_from_png(a), *sb = cairo_image_surface_create_from_png(b);
        CHECK(diff_fraction(sa, sb) == 0.0, "the second export is the same picture: no message in it");
        cairo_surface_destroy(sa);
        cairo_surface_destroy(sb);
    }
    viz_free(v);
    free(v);
    return check_report("viewer");
}
