/* viz_layout.c - renders every view, in normal and presenter mode, at 1280x720, 1920x1080, 3840x2160 (16:9),
 * 1024x768 (4:3), 1280x800 and 2560x1600 (16:10),
 * for each model given, to PDF files, with an index of each file's panels and text sizes; then
 * tests/test_layout.py reads the words cairo wrote (pdftotext -bbox) and checks that no two overlap,
 * none leaves its panel and none is smaller than the mode allows.
 *     viz_layout OUT_DIR NAME=MODEL_DIR...        writes OUT_DIR/NAME-...pdf and OUT_DIR/index.tsv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "viz.h"

static FILE *idx;
static const char *out_dir;

static void run(VizState *v, const char *cmd) {
    Err err;
    CHECK(viz_command(v, cmd, &err) == 0, "command '%s': %s", cmd, err.msg);
}

static void render(VizState *v, const char *name, const char *what, int W, int H) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s-%s-%dx%d-%s.pdf", out_dir, name, what, W, H, v->view.presenter ? "presenter" : "normal");
    Err err;
    CHECK(viz_export(v, path, W, H, &err) == 0, "%s", err.msg);
    fprintf(idx, "%s\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t", path, W, H, v->view.presenter, v->ui.placeholder, v->ui.fs, v->ui.fs_min);
    int first = 1;
    for (int i = 0; i < v->ui.n_hits; i++) {
        const Hit *h = &v->ui.hits[i];
        if (h->kind != HIT_PANEL) continue;
        fprintf(idx, "%s%d:%.2f,%.2f,%.2f,%.2f", first ? "" : ";", h->a, h->r.x, h->r.y, h->r.w, h->r.h);
        first = 0;
    }
    fprintf(idx, "\n");
}

/* Views of one state, at every size, in both modes: all of them, or (only) one. */
static void some_views(VizState *v, const char *name, const char *state, const char *only) {
    static const int SIZES[][2] = {{1280, 720}, {1920, 1080}, {3840, 2160}, {1024, 768}, {1280, 800}, {2560, 1600}};
    const int n_sizes = (int)(sizeof SIZES / sizeof SIZES[0]);
    static const char *VIEWS[] = {"all", "tokens", "attention", "grid", "distribution", "block", "pipeline", "experiment", "heads", "values", "lines"};
    const int n_views = (int)(sizeof VIEWS / sizeof VIEWS[0]);
    for (int mode = 0; mode < 2; mode++) {
        v->view.presenter = mode;
        for (int s = 0; s < n_sizes; s++)
            for (int i = 0; i < n_views; i++) {
                if (mode == 1 && i == 0) continue; /* presenter mode shows one view */
                if (only && strcmp(only, VIEWS[i])) continue;
                char cmd[64], what[128];
                snprintf(cmd, sizeof cmd, "view %s", VIEWS[i]);
                run(v, cmd);
                snprintf(what, sizeof what, "%s-%s", state, VIEWS[i]);
                render(v, name, what, SIZES[s][0], SIZES[s][1]);
            }
    }
    v->view.presenter = 0;
    run(v, "view all");
}

static void all_views(VizState *v, const char *name, const char *state) { some_views(v, name, state, NULL); }

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: viz_layout OUT_DIR NAME=MODEL_DIR...\n");
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0755);
    char ip[1024];
    snprintf(ip, sizeof ip, "%s/index.tsv", out_dir);
    idx = fopen(ip, "w");
    if (!idx) return 2;
    for (int m = 2; m < argc; m++) {
        char name[64];
        const char *eq = strchr(argv[m], '=');
        if (!eq) return 2;
        snprintf(name, sizeof name, "%.*s", (int)(eq - argv[m]), argv[m]);
        VizState *v = calloc(1, sizeof *v);
        viz_init(v);
        snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", eq + 1);
        v->run.gen.sampler.seed = 5;
        Err err;
        CHECK(viz_load_and_run(v, &err) == 0, "load %s: %s", eq + 1, err.msg);
        if (!v->run.loaded) continue;
        run(v, "generate 4");
        const Gpt2Config *c = &v->run.gen.model.cfg;
        char cmd[64];
        /* a stage in the last layer, the last head, a cell selected */
        snprintf(cmd, sizeof cmd, "stage L%d.ffn", c->n_layer - 1);
        run(v, cmd);
        snprintf(cmd, sizeof cmd, "head %d", c->n_head - 1);
        run(v, cmd);
        run(v, "cell 5 2");
        run(v, "heads induction");
        run(v, "attribute");
        all_views(v, name, "short");
        run(v, "attention scores"); /* the masked scores' note beside the cell panel (lesson 3 step 3) */
        some_views(v, name, "scores-cell", "attention");
        run(v, "attention weights");
        /* the experiments: patching sweeps of a short text against another of as many tokens */
        free(v->run.prompt);
        v->run.prompt = xstrdup("The dragon flew over the castle, and the dragon");
        CHECK(viz_load_and_run(v, &err) == 0, "patching prompt: %s", err.msg);
        run(v, "compare The wizard flew over the castle, and the dragon");
        run(v, "patch resid \" flew\"");
        some_views(v, name, "patch-resid", "experiment");
        run(v, "patch heads \" flew\"");
        some_views(v, name, "patch-heads", "experiment");
        run(v, "compare off");
        /* a long text: up to about 300 positions (a repeated passage, within the context), no cell
         * selected, a highlight */
        char *p = malloc(8192);
        p[0] = 0;
        for (int i = 0; i < 33 && (i + 2) * 9 < c->n_ctx; i++) strcat(p, "The little dragon flew over the castle. ");
        free(v->run.prompt);
        v->run.prompt = p;
        CHECK(viz_load_and_run(v, &err) == 0, "long prompt: %s", err.msg);
        run(v, "key none");
        run(v, "stage embed");
        run(v, "highlight token 3 200");
        run(v, "query 150");
        run(v, "attribute");
        all_views(v, name, "long");
        if (c->n_ctx >= 1024 && c->n_layer <= 12) { /* a prompt longer than 4,095 bytes runs whole */
            char *big = malloc(8192);
            big[0] = 0;
            for (int i = 0; i < 330; i++) strcat(big, " extraordinary");
            free(v->run.prompt);
            v->run.prompt = big;
            CHECK(viz_load_and_run(v, &err) == 0, "a %zu-byte prompt: %s", strlen(big), err.msg);
            CHECK(strlen(v->run.prompt) > 4095 && viz_n_shown(v) >= 330, "a %zu-byte prompt runs whole (%d positions)",
                  strlen(v->run.prompt), viz_n_shown(v));
        }
        viz_free(v);
        free(v);
    }
    fclose(idx);
    return check_report("layout renders");
}
