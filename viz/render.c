/* render.c - `gptstep render`: any view to PNG, SVG or PDF without a window, through the same state,
 * commands and drawing code the window uses. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "cli.h"
#include "viz.h"

static const char *RENDER_HELP =
    "usage: gptstep render [--model MODEL] (--prompt TEXT | --unconditional) [-n N] --view NAME -o FILE\n"
    "                      [--layer L] [--head H] [--pos P] [--key K] [--attention scores|masked|weights]\n"
    "                      [--stage STAGE] [--size WxH] [--presenter] [--colorblind] [sampler options]\n"
    "\n"
    "Runs the prompt, generates N tokens (default 0), and draws one view to FILE (.png, .svg or .pdf).\n"
    "  --view NAME        all (the whole window), tokens, attention, grid, distribution, block, pipeline,\n"
    "                     experiment (the last attribution or patching sweep), heads (the head finder:\n"
    "                     with --command heads), values (the weighted sum of values), lines (attention on\n"
    "                     the text)\n"
    "  --layer L --head H the attention head to show (default 0, 0)\n"
    "  --pos P            the query position (default: the last)\n"
    "  --key K            a key of the query's row: the panel of how its weight is computed\n"
    "  --ablate SPEC      switch a part off, repeatable: L.H, L.mlp.N, L.attn, L.mlp, pos; the\n"
    "                     distribution then shows the clean and the ablated model's probabilities\n"
    "  --ablate-mode M    zero (default) or mean (its mean over the text's positions in a clean run)\n"
    "  --compare TEXT     run TEXT (B) beside the prompt (A), position by position (the 'compare' command)\n"
    "  --show-run R       with --ablate or --compare: heatmaps, vectors and lens show the ablated run (default), the clean\n"
    "                     run, or the difference (ablated, clean, difference)\n"
    "  --command CMD      run a viewer command before drawing, repeatable (docs/viewer.md), e.g.\n"
    "                     --command attribute, or --compare TEXT --command \"patch resid\" --view experiment\n"
    "  --link FRAGMENT    apply a link's fragment as the browser page does (docs/web.md), e.g.\n"
    "                     --link \"prompt=The%20little%20dragon&steps=3&layer=3&head=3\"\n"
    "  --state FILE       also write what was drawn as JSON: token ids, position, layer, head, top candidates\n"
    "  --attention MODE   scores, masked or weights (default weights)\n"
    "  --stage STAGE      highlight a stage of the forward pass, e.g. L1.attn\n"
    "  --size WxH         canvas size in pixels/points (default 1920x1080)\n"
    "  --zoom N           the heatmap shows N positions around the query\n"
    "  --presenter        presenter mode: the view alone, text >= 1/40 of the height (--large: the same)\n"
    "  --colorblind       colour-blind-safe colours\n"
    "  --greedy, --temperature T, --top-k K, --top-p P, --seed S   as for 'gptstep generate'\n";

/* Applies one "command argument" pair, printing the error. */
static int apply(VizState *v, const char *cmd, const char *arg) {
    char line[4200];
    snprintf(line, sizeof line, "%s %s", cmd, arg ? arg : "");
    Err err;
    if (viz_command(v, line, &err)) {
        fprintf(stderr, "gptstep render: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int viz_render_main(int argc, char **argv) {
    static struct option opts[] = {
        {"model", required_argument, 0, 'm'},     {"prompt", required_argument, 0, 'P'},
        {"unconditional", no_argument, 0, 'u'},   {"view", required_argument, 0, 'v'},
        {"layer", required_argument, 0, 'L'},     {"head", required_argument, 0, 'H'},
        {"pos", required_argument, 0, 'q'},       {"attention", required_argument, 0, 'a'},
        {"stage", required_argument, 0, 'S'},     {"size", required_argument, 0, 'z'},
        {"large", no_argument, 0, 'l'},           {"colorblind", no_argument, 0, 'c'},
        {"presenter", no_argument, 0, 'l'},       {"zoom", required_argument, 0, 'Z'},
        {"key", required_argument, 0, 'K'},       {"ablate", required_argument, 0, 'A'},
        {"ablate-mode", required_argument, 0, 'M'}, {"show-run", required_argument, 0, 'R'},
        {"compare", required_argument, 0, 'C'},
        {"command", required_argument, 0, 'X'},
        {"greedy", no_argument, 0, 'g'},          {"temperature", required_argument, 0, 't'},
        {"top-k", required_argument, 0, 'k'},     {"top-p", required_argument, 0, 'p'},
        {"seed", required_argument, 0, 's'},      {"help", no_argument, 0, 'h'},
        {"link", required_argument, 0, 'U'},      {"state", required_argument, 0, 'J'},
        {0, 0, 0, 0}};
    const char *link = NULL, *state = NULL;
    const char *model = NULL, *prompt = NULL, *view = NULL, *out = NULL, *layer = NULL, *head = NULL, *pos = NULL;
    const char *att = NULL, *stage = NULL, *size = "1920x1080", *zoom = NULL, *key = NULL, *ablate[64], *ablate_mode = NULL, *show_run = NULL, *compare = NULL, *commands[32];
    int n_commands = 0;
    int n_ablate = 0;
    const char *sampler[5][2] = {{0}};
    int ns = 0, uncond = 0, large = 0, cb = 0, n = 0, c;
    while ((c = getopt_long(argc, argv, "+:m:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'P': prompt = optarg; break;
        case 'u': uncond = 1; break;
        case 'v': view = optarg; break;
        case 'L': layer = optarg; break;
        case 'H': head = optarg; break;
        case 'q': pos = optarg; break;
        case 'a': att = optarg; break;
        case 'S': stage = optarg; break;
        case 'Z': zoom = optarg; break;
        case 'K': key = optarg; break;
        case 'A': /* as generate: at most 64, each switched on once however often it is named */
            if (cli_collect("render", "--ablate", "ablations", ablate, &n_ablate, GPT2_MAX_ABLATIONS, optarg)) return 2;
            break;
        case 'M': ablate_mode = optarg; break;
        case 'R': show_run = optarg; break;
        case 'C': compare = optarg; break;
        case 'X':
            if (cli_collect("render", "--command", "commands", commands, &n_commands, 32, optarg)) return 2;
            break;
        case 'z': size = optarg; break;
        case 'U': link = optarg; break;
        case 'J': state = optarg; break;
        case 'l': large = 1; break;
        case 'c': cb = 1; break;
        case 'o': out = optarg; break;
        case 'n': {
            char *end;
            long x = strtol(optarg, &end, 10);
            n = *end || x < 0 || x > 100000 ? -1 : (int)x;
            break;
        }
        case 'g': sampler[ns][0] = "greedy", sampler[ns++][1] = "on"; break;
        case 't': sampler[ns][0] = "temperature", sampler[ns++][1] = optarg; break;
        case 'k': sampler[ns][0] = "top-k", sampler[ns++][1] = optarg; break;
        case 'p': sampler[ns][0] = "top-p", sampler[ns++][1] = optarg; break;
        case 's': sampler[ns][0] = "seed", sampler[ns++][1] = optarg; break;
        case 'h': fputs(RENDER_HELP, stdout); return 0;
        default: return cli_bad_option("render", c, argv);
        }
        if (ns >= 5) ns = 4;
    }
    int w = 0, h = 0;
    VizLink lk = {0};
    Err lerr;
    if (link && viz_link_parse(link, &lk, &lerr)) {
        fprintf(stderr, "gptstep render: --link: %s\n", lerr.msg);
        viz_link_free(&lk);
        return 2;
    }
    if (lk.prompt && !prompt && !uncond) prompt = lk.prompt;
    if (!out || !view || (!prompt && !uncond) || (prompt && uncond) || sscanf(size, "%dx%d", &w, &h) != 2 || w < 64 ||
        h < 64 || w > 16384 || h > 16384 || n < 0 || optind < argc) {
        fprintf(stderr, "gptstep render: needs --view NAME, -o FILE and one of --prompt TEXT / --unconditional"
                        " (--size as WxH, 64..16384; -n 0..100000) (see 'gptstep render --help')\n");
        viz_link_free(&lk);
        return 2;
    }
    if (viz_view_by_name(view) < 0 && strcmp(view, "heatmap") != 0) {
        fprintf(stderr, "gptstep render: unknown view '%s': expected all, tokens, attention, grid, distribution, block, pipeline or experiment\n", view);
        return 2;
    }
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", model ? model : "");
    free(v->run.prompt);
    v->run.prompt = xstrdup(uncond ? "" : prompt);
    v->view.presenter = large;
    v->view.colorblind = cb;
    Err err;
    int rc = 0;
    for (int i = 0; i < ns && rc == 0; i++) rc = apply(v, sampler[i][0], sampler[i][1]);
    for (int i = 0; i < lk.n_pre && rc == 0; i++) rc = apply(v, lk.pre[i], NULL); /* before the prompt runs */
    if (rc == 0 && viz_load_and_run(v, &err)) {
        fprintf(stderr, "gptstep render: %s\n", err.msg);
        rc = 1;
    }
    char num[32];
    snprintf(num, sizeof num, "%d", n);
    if (rc == 0 && ablate_mode) rc = apply(v, "ablate-mode", ablate_mode);
    for (int i = 0; i < n_ablate && rc == 0; i++)
        if (!viz_ablation_named_before(v, ablate, i)) rc = apply(v, "ablate", ablate[i]); /* ablate toggles: once each */
    if (rc == 0 && compare) rc = apply(v, "compare", compare);
    if (rc == 0 && show_run) rc = apply(v, "show-run", show_run);
    if (rc == 0 && n > 0) rc = apply(v, "generate", num);
    if (rc == 0 && layer) rc = apply(v, "layer", layer);
    if (rc == 0 && head) rc = apply(v, "head", head);
    if (rc == 0 && pos) rc = apply(v, "query", pos);
    if (rc == 0 && att) rc = apply(v, "attention", att);
    if (rc == 0 && stage) rc = apply(v, "stage", stage);
    if (rc == 0 && zoom) rc = apply(v, "zoom", zoom);
    if (rc == 0 && key) rc = apply(v, "key", key);
    for (int i = 0; i < lk.n && rc == 0; i++) rc = apply(v, lk.cmds[i], NULL); /* as the page applies a link */
    for (int i = 0; i < n_commands && rc == 0; i++) rc = apply(v, commands[i], NULL);
    if (rc == 0 && !(lk.n && !strcmp(view, "all") && v->view.only != VIEW_ALL)) rc = apply(v, "view", view);
    v->ui.message[0] = 0; /* a command's passing remark is not part of the picture */
    if (rc == 0 && viz_export(v, out, w, h, &err)) {
        fprintf(stderr, "gptstep render: %s\n", err.msg);
        rc = 1;
    }
    if (rc == 0 && state) { /* what was drawn, as data (viz_state_json; the page keeps the same) */
        char *json = viz_state_json(v);
        FILE *f = fopen(state, "w");
        if (!f || fputs(json, f) < 0 || fclose(f)) {
            fprintf(stderr, "gptstep render: %s: cannot write the state\n", state);
            if (f) fclose(f);
            rc = 1;
        }
        free(json);
    }
    viz_link_free(&lk);
    if (rc == 0) printf("%s: %s view, %dx%d\n", out, view, w, h);
    viz_free(v);
    free(v);
    return rc ? (rc < 0 ? 2 : rc) : 0;
}
