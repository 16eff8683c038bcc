/* cli.c - the gptstep command line's core commands: tokens, generate, trace, dump, info, heads.
 * Each subcommand parses its own options (each has --help) and fails with one clear line. The program's
 * main() (viz/main.c) adds the commands that need a window or cairo through CliCommand entries. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "generate.h"
#include "attribution.h"
#include "metric.h"
#include "heads.h"
#include "model.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "trace.h"

#define VERSION "0.1.0"

/* One line, whatever a person or a file put in it: err_set writes control characters as \n, \xNN. */
static int fail(const char *msg) {
    Err e;
    err_set(&e, "%s", msg);
    fprintf(stderr, "gptstep: %s\n", e.msg);
    return 1;
}

static int usage_error(const char *cmd, const char *msg) {
    Err e;
    err_set(&e, "%s", msg);
    fprintf(stderr, "gptstep %s: %s (see 'gptstep %s --help')\n", cmd, e.msg, cmd);
    return 2;
}

int cli_bad_option(const char *cmd, int c, char **argv) {
    const char *opt = optind > 0 ? argv[optind - 1] : "?";
    char shown[64];
    size_t k = 0; /* the option as typed, printable characters only */
    for (const char *p = opt; *p && k + 1 < sizeof shown; p++) shown[k++] = (unsigned char)*p >= 0x20 && *p != 0x7f ? *p : '?';
    shown[k] = 0;
    if (c == ':') fprintf(stderr, "gptstep %s: %s needs a value (see 'gptstep %s --help')\n", cmd, shown, cmd);
    else if (optopt && optopt != '?' && optopt < 128 && !strchr(shown, (char)optopt))
        fprintf(stderr, "gptstep %s: unknown option '-%c' (see 'gptstep %s --help')\n", cmd, optopt, cmd);
    else fprintf(stderr, "gptstep %s: unknown option '%s' (see 'gptstep %s --help')\n", cmd, shown, cmd);
    return 2;
}

int cli_collect(const char *cmd, const char *option, const char *noun, const char **list, int *n, int max, const char *value) {
    if (*n >= max) {
        fprintf(stderr, "gptstep %s: %s: at most %d %s (see 'gptstep %s --help')\n", cmd, option, max, noun, cmd);
        return 2;
    }
    list[(*n)++] = value;
    return 0;
}

static void print_main_help(FILE *f, const CliCommand *extra) {
    fprintf(f,
            "gptstep " VERSION " - watch GPT-2 think, one token and one tensor at a time\n"
            "\n"
            "usage: gptstep COMMAND [options]\n"
            "\n"
            "commands:\n");
    for (const CliCommand *c = extra; c && c->name; c++) fprintf(f, "  %-9s %s\n", c->name, c->summary);
    fprintf(f,
            "  tokens    split text into GPT-2 tokens (id, piece, bytes)\n"
            "  generate  continue a prompt (or generate unconditionally), streaming the text\n"
            "  trace     run a generation and save every intermediate tensor to a trace file\n"
            "  dump      print or export (.npy) one tensor of a trace file\n"
            "  info      summarise a model\n"
            "  heads     find the previous-token, first-token and induction heads of a model\n"
            "  attribute how much each head, MLP and the embedding add to a token's logit\n"
            "\n"
            "MODEL is a directory holding model.safetensors, or a name under models/ (default: " GPT2_DEFAULT_MODEL
            ").\n'gptstep COMMAND --help' describes each command. Docs: README.md and docs/.\n");
}

/* ---------------------------------------------------------------- shared option parsing */

static int parse_float(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

/* Sampler flags shared by generate and trace. Returns 0, or 2 after printing a usage error. */
static int sampler_option(const char *cmd, int opt, const char *arg, SamplerSettings *s) {
    long l;
    double d;
    char msg[160];
    switch (opt) {
    case 'g': s->greedy = 1; return 0;
    case 't':
        if (parse_float(arg, SAMPLER_TEMPERATURE_MIN, SAMPLER_TEMPERATURE_MAX, &d)) goto bad;
        s->temperature = (float)d;
        return 0;
    case 'k':
        if (parse_int(arg, 0, SAMPLER_TOP_K_MAX, &l)) goto bad;
        s->top_k = (int)l;
        return 0;
    case 'p':
        if (parse_float(arg, SAMPLER_TOP_P_MIN, 1, &d)) goto bad;
        s->top_p = (float)d;
        return 0;
    case 's': {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(arg, &end, 10);
        if (errno || end == arg || *end || arg[0] == '-') goto bad;
        s->seed = v;
        return 0;
    }
    }
    return 0;
bad:
    snprintf(msg, sizeof msg, "invalid value '%s' for --%s", arg,
             opt == 't' ? "temperature (expected 0.001..100)" : opt == 'k' ? "top-k (expected a whole number 0..1000000)"
             : opt == 'p' ? "top-p (expected 0 < p <= 1)" : "seed (expected a non-negative integer)");
    return usage_error(cmd, msg);
}

#define SAMPLER_OPTIONS                                                                             \
    {"greedy", no_argument, 0, 'g'}, {"temperature", required_argument, 0, 't'},                   \
        {"top-k", required_argument, 0, 'k'}, {"top-p", required_argument, 0, 'p'},                 \
        {"seed", required_argument, 0, 's'}

#define SAMPLER_HELP                                                                               \
    "  --greedy            always take the most likely token\n"                                    \
    "  --temperature T     divide the logits by T before softmax (default 1.0)\n"                  \
    "  --top-k K           sample only among the K most likely tokens (default 40; 0 = all)\n"    \
    "  --top-p P           ... and only the smallest set holding probability mass P (default 1)\n" \
    "  --seed S            random seed; the same seed gives the same text (default 0)\n"

/* Reads text from a file, with a clear error for invalid UTF-8. */
static char *read_text_file(const char *path, size_t *len, Err *err) {
    char *data;
    if (read_file(path, &data, len, err)) return NULL;
    size_t bad;
    if (!utf8_valid(data, *len, &bad)) {
        err_set(err, "%s: invalid UTF-8 at byte %zu", path, bad);
        free(data);
        return NULL;
    }
    return data;
}

/* ---------------------------------------------------------------- tokens */

static const char *TOKENS_HELP =
    "usage: gptstep tokens [--model MODEL] [--ids] [--no-special] (TEXT | --file PATH)\n"
    "\n"
    "Splits UTF-8 text into GPT-2 byte-level BPE tokens and prints a table of id, piece and bytes.\n"
    "  --model MODEL   use this model's tokenizer (default: the shipped GPT-2 tokenizer)\n"
    "  --ids           print only the ids, space-separated, on one line\n"
    "  --file PATH     read the text from PATH ('-' for standard input)\n"
    "  --no-special    treat \"<|endoftext|>\" as plain text, not as token 50256\n";

static Tokenizer *open_tokenizer(const char *model_arg, Err *err) {
    if (model_arg) {
        char *dir = gpt2_resolve_model(model_arg, err);
        if (!dir) return NULL;
        Tokenizer *t = tok_load_for_model(dir, err);
        free(dir);
        return t;
    }
    char *root = models_root();
    if (!root) {
        err_set(err, "cannot find the models/ folder with the tokenizer (set GPTSTEP_MODELS)");
        return NULL;
    }
    char *dir = path_join(root, "tokenizer");
    Tokenizer *t = tok_load(dir, err);
    free(dir);
    free(root);
    return t;
}

static char *read_stdin(size_t *len) {
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static void print_ids(const int *ids, int n) {
    /* Hand-rolled formatting: the 95 MB corpus is ~23 million ids. */
    char buf[1 << 16];
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (k > sizeof buf - 16) {
            fwrite(buf, 1, k, stdout);
            k = 0;
        }
        if (i) buf[k++] = ' ';
        char tmp[12];
        int m = 0, v = ids[i];
        do tmp[m++] = (char)('0' + v % 10); while ((v /= 10) > 0);
        while (m) buf[k++] = tmp[--m];
    }
    buf[k++] = '\n';
    fwrite(buf, 1, k, stdout);
}

static int cmd_tokens(int argc, char **argv) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'}, {"ids", no_argument, 0, 'i'},
                                   {"file", required_argument, 0, 'f'},  {"no-special", no_argument, 0, 'n'},
                                   {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *model = NULL, *file = NULL;
    int ids_only = 0, special = 1, c;
    while ((c = getopt_long(argc, argv, "+:m:if:nh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'i': ids_only = 1; break;
        case 'f': file = optarg; break;
        case 'n': special = 0; break;
        case 'h': fputs(TOKENS_HELP, stdout); return 0;
        default: return cli_bad_option("tokens", c, argv);
        }
    }
    if ((optind < argc) == (file != NULL)) return usage_error("tokens", "give either TEXT or --file PATH");
    if (optind + 1 < argc) return usage_error("tokens", "give the text as one argument (quote it)");
    Err err;
    size_t len;
    char *text;
    if (file && strcmp(file, "-") == 0) {
        text = read_stdin(&len);
        size_t bad;
        if (!utf8_valid(text, len, &bad)) {
            fprintf(stderr, "gptstep: standard input: invalid UTF-8 at byte %zu\n", bad);
            free(text);
            return 1;
        }
    } else if (file) {
        text = read_text_file(file, &len, &err);
        if (!text) return fail(err.msg);
    } else {
        text = xstrdup(argv[optind]);
        len = strlen(text);
    }
    Tokenizer *t = open_tokenizer(model, &err);
    if (!t) {
        free(text);
        return fail(err.msg);
    }
    int *ids = NULL, n = 0, rc = tok_encode(t, text, len, special, &ids, &n, &err);
    if (rc) {
        fprintf(stderr, "gptstep: %s%s%s\n", file ? file : "", file ? ": " : "", err.msg);
    } else if (ids_only) {
        print_ids(ids, n);
    } else {
        printf("%5s  %6s  %-24s %s\n", "index", "id", "piece", "bytes");
        for (int i = 0; i < n; i++) {
            int bl;
            const char *b = tok_bytes(t, ids[i], &bl);
            char piece[1024], hex[1024];
            tok_show_bytes(b, bl, TOK_SHOW_TERMINAL, piece, sizeof piece);
            size_t k = 0;
            for (int j = 0; j < bl && k + 4 < sizeof hex; j++) k += (size_t)snprintf(hex + k, sizeof hex - k, "%s%02x", j ? " " : "", (unsigned char)b[j]);
            hex[k] = 0;
            char quoted[1100];
            snprintf(quoted, sizeof quoted, "'%s'", piece);
            printf("%5d  %6d  %-24s %s\n", i, ids[i], quoted, hex);
        }
        printf("%d tokens\n", n);
    }
    free(ids);
    free(text);
    tok_free(t);
    return rc ? 1 : 0;
}

/* ---------------------------------------------------------------- generate and trace */

#define ABLATE_HELP \
    "  --ablate SPEC       switch a part off at every position; repeatable: L.H a head, L.mlp.N a neuron,\n" \
    "                      L.attn or L.mlp a whole sublayer's output, pos the position embedding (docs/experiments.md)\n" \
    "  --ablate-mode M     zero (default): a part switched off is 0; mean: its mean over the prompt's positions\n" \
    "                      in a clean run\n"

static const char *GENERATE_HELP =
    "usage: gptstep generate [--model MODEL] (--prompt TEXT | --prompt-file PATH | --unconditional) [-n N]\n"
    "                        [--greedy | --temperature T --top-k K --top-p P --seed S] [--ids]\n"
    "\n"
    "Continues the prompt by N tokens (default 40), streaming the text as it is generated.\n"
    "  --model MODEL       a model directory or a name under models/ (default: " GPT2_DEFAULT_MODEL ")\n"
    "  --prompt TEXT       the text to continue\n"
    "  --prompt-file PATH  read the prompt from a UTF-8 file\n"
    "  --unconditional     start from <|endoftext|> alone\n"
    "  -n N                tokens to generate; 0 runs the prompt only\n" ABLATE_HELP SAMPLER_HELP
    "  --ids               print token ids (prompt, then generated) instead of text\n"
    "  --no-special        treat \"<|endoftext|>\" in the prompt as plain text\n"
    "  --verbose           then say where the time went: loading (model, tokenizer), prefill, decode\n";

static const char *TRACE_HELP =
    "usage: gptstep trace [--model MODEL] (--prompt TEXT | --unconditional) [-n N] -o FILE\n"
    "                     [--record full|attention|off] [sampler options]\n"
    "\n"
    "Runs a generation like 'generate' and saves every intermediate tensor of every position to FILE\n"
    "(format and tensor names: docs/trace.md). Read it back with 'gptstep dump'.\n"
    "  --record MODE       full (default), attention (attention rows and probabilities), or off\n"
    "  -o FILE             the trace file to write\n"
    "  --verbose           then say where the time went: loading (model, tokenizer), prefill, decode\n" ABLATE_HELP SAMPLER_HELP;

typedef struct {
    const char *model, *prompt, *prompt_file, *out;
    int uncond, n, ids, special, verbose;
    TraceMode mode;
    SamplerSettings sampler;
    const char *ablate[GPT2_MAX_ABLATIONS]; /* --ablate specs, checked once the model is loaded */
    int n_ablate;
    AblateMode ablate_mode;
} GenArgs;

static int parse_gen_args(const char *cmd, int argc, char **argv, GenArgs *a, const char *help) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'},
                                   {"prompt", required_argument, 0, 'P'},
                                   {"prompt-file", required_argument, 0, 'F'},
                                   {"unconditional", no_argument, 0, 'u'},
                                   {"ids", no_argument, 0, 'i'},
                                   {"no-special", no_argument, 0, 'N'},
                                   {"verbose", no_argument, 0, 'V'},
                                   {"record", required_argument, 0, 'r'},
                                   {"ablate", required_argument, 0, 'A'},
                                   {"ablate-mode", required_argument, 0, 'M'},
                                   {"help", no_argument, 0, 'h'},
                                   SAMPLER_OPTIONS,
                                   {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->n = 40;
    a->special = 1;
    a->mode = TRACE_FULL;
    a->sampler = sampler_default();
    int c, rc;
    long l;
    while ((c = getopt_long(argc, argv, "+:m:n:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': a->model = optarg; break;
        case 'P': a->prompt = optarg; break;
        case 'F': a->prompt_file = optarg; break;
        case 'u': a->uncond = 1; break;
        case 'i': a->ids = 1; break;
        case 'N': a->special = 0; break;
        case 'V': a->verbose = 1; break;
        case 'o': a->out = optarg; break;
        case 'n':
            if (parse_int(optarg, 0, 1 << 20, &l)) return usage_error(cmd, "-n expects a number of tokens >= 0");
            a->n = (int)l;
            break;
        case 'r':
            if (strcmp(optarg, "full") == 0) a->mode = TRACE_FULL;
            else if (strcmp(optarg, "attention") == 0 || strcmp(optarg, "attn") == 0) a->mode = TRACE_ATTN;
            else if (strcmp(optarg, "off") == 0) a->mode = TRACE_OFF;
            else return usage_error(cmd, "--record expects full, attention or off");
            break;
        case 'A':
            if (cli_collect(cmd, "--ablate", "ablations", a->ablate, &a->n_ablate, GPT2_MAX_ABLATIONS, optarg)) return 2;
            break;
        case 'M': {
            Err e;
            if (ablate_mode_parse(optarg, &a->ablate_mode, &e)) return usage_error(cmd, "--ablate-mode expects zero or mean");
            break;
        }
        case 'h': fputs(help, stdout); return -1;
        case 'g': case 't': case 'k': case 'p': case 's':
            if ((rc = sampler_option(cmd, c, optarg, &a->sampler))) return rc;
            break;
        default: return cli_bad_option(cmd, c, argv);
        }
    }
    if (optind < argc) return usage_error(cmd, "unexpected argument (quote the prompt and pass it with --prompt)");
    if (!!a->prompt + !!a->prompt_file + a->uncond != 1)
        return usage_error(cmd, "give exactly one of --prompt TEXT, --prompt-file PATH or --unconditional");
    return 0;
}

/* Starts g from the arguments' prompt; returns 0 or an exit code after printing the error. */
static int start_prompt(Gen *g, const GenArgs *a) {
    Err err;
    int rc;
    if (a->uncond) {
        rc = gen_start_unconditional(g, &err);
    } else if (a->prompt_file) {
        size_t len;
        char *text = read_text_file(a->prompt_file, &len, &err);
        if (!text) return fail(err.msg);
        rc = gen_start_text(g, text, a->special, &err);
        free(text);
    } else {
        rc = gen_start_text(g, a->prompt, a->special, &err);
    }
    if (rc) {
        char msg[1200];
        snprintf(msg, sizeof msg, "%s: %s", a->uncond ? "unconditional" : a->prompt_file ? a->prompt_file : "prompt", err.msg);
        return fail(msg);
    }
    return 0;
}

/* Generates a->n tokens after the prompt, streaming text (or ids) to stdout when stream is set. */
static int run_generation(Gen *g, const GenArgs *a, int stream) {
    Err err;
    TokStream ts;
    tok_stream_init(&ts);
    const Trace *tr = &g->trace;
    if (stream) {
        for (int p = 0; p < tr->n_pos; p++) {
            if (a->ids) printf("%s%d", p ? " " : "", tr->pos[p].token);
            else {
                const char *text = tok_stream_push(&ts, g->tok, tr->pos[p].token);
                fwrite(text, 1, ts.len, stdout);
            }
        }
        fflush(stdout);
    }
    double t0 = now_seconds();
    for (int i = 0; i < a->n; i++) {
        if (i > 0 && !stream && g->state.n_past >= g->model.cfg.n_ctx) { /* a trace keeps what it has */
            fprintf(stderr, "gptstep: the context is full after %d tokens (%d positions): the trace stops there\n", i,
                    g->model.cfg.n_ctx);
            break;
        }
        if (i > 0 && gen_advance(g, &err)) {
            if (stream) fputc('\n', stdout);
            return fail(err.msg);
        }
        int id = gen_choose(g, -1);
        if (stream) {
            if (a->ids) printf(" %d", id);
            else {
                const char *text = tok_stream_push(&ts, g->tok, id);
                fwrite(text, 1, ts.len, stdout);
            }
            fflush(stdout);
        }
    }
    if (stream) {
        if (!a->ids) {
            const char *text = tok_stream_flush(&ts);
            fwrite(text, 1, ts.len, stdout);
        }
        fputc('\n', stdout);
    }
    double dt = now_seconds() - t0;
    if (isatty(2) && a->n > 1)
        fprintf(stderr, "[%d tokens in %.2f s, %.1f tokens/s]\n", a->n, dt, a->n / (dt > 0 ? dt : 1e-9));
    return 0;
}

/* A progress line on the terminal for loads that take more than a moment (GPT-2 large and XL). */
typedef struct {
    double start;
    int shown;
} LoadBar;

static int load_bar(void *ctx, double fraction) {
    LoadBar *b = ctx;
    if (!isatty(2) || (!b->shown && now_seconds() - b->start < 0.7)) return 0;
    int width = 30, fill = (int)(fraction * width + 0.5);
    fprintf(stderr, "\rloading model [%.*s%*s] %3.0f%%", fill, "##############################", width - fill, "",
            100 * fraction);
    b->shown = 1;
    return 0;
}

static int open_gen(Gen *g, const GenArgs *a, TraceMode mode) {
    Err err;
    LoadBar bar = {now_seconds(), 0};
    /* the first run (the prompt, then n - 1 more positions), whose memory is made ready at open; a
     * prompt file is read here for it too when it is a regular file (a pipe, as bash's <(...), can be
     * read once only: start_prompt's; it also says what is wrong with one) */
    size_t len;
    Err file_err;
    struct stat sb;
    char *file_text = a->prompt_file && stat(a->prompt_file, &sb) == 0 && S_ISREG(sb.st_mode)
                          ? read_text_file(a->prompt_file, &len, &file_err) : NULL;
    GenFirst first = {a->prompt_file ? file_text : a->prompt, a->special, a->uncond, a->n > 0 ? a->n - 1 : 0};
    int rc = gen_open_progress(g, a->model, mode, first.text || first.unconditional ? &first : NULL, load_bar, &bar, &err);
    free(file_text);
    if (bar.shown) fprintf(stderr, "\r%60s\r", "");
    if (rc) return fail(err.msg);
    g->sampler = a->sampler;
    Interventions iv = {0};
    iv.mode = a->ablate_mode;
    for (int i = 0; i < a->n_ablate; i++)
        if (ablation_parse(a->ablate[i], &g->model.cfg, &iv.a[iv.n++], &err)) {
            gen_close(g);
            return fail(err.msg);
        }
    gen_set_interventions(g, &iv);
    return 0;
}

/* --verbose: where the time went - the load (model, tokenizer), the prompt's pass (prefill) and the
 * decode steps (each token after the first) - on one line on stderr. */
static void print_times(const Gen *g, const GenArgs *a, double t0, double t1, double t2, double t3) {
    int dec = a->n > 1 ? a->n - 1 : 0, pre = g->trace.n_steps ? g->trace.steps[0].n_pos : 0;
    fprintf(stderr,
            "gptstep: load %.3f s (model %.3f s, %.0fM parameters, %s; tokenizer %.3f s; memory for %d positions %.3f s) \xC2\xB7 prefill %d tokens %.3f s "
            "(%.0f tokens/s) \xC2\xB7 decode %d tokens %.3f s (%.1f tokens/s) \xC2\xB7 recording %s \xC2\xB7 total %.3f s\n",
            t1 - t0, g->load_model_s, g->model.n_params / 1e6,
            gpt2_weights_where(&g->model), g->load_tokenizer_s, g->ready_positions, g->ready_s,
            pre, t2 - t1, pre / fmax(t2 - t1, 1e-9), dec, t3 - t2, dec / fmax(t3 - t2, 1e-9), trace_mode_name(g->trace.mode), t3 - t0);
}

static int cmd_generate(int argc, char **argv) {
    GenArgs a;
    int rc = parse_gen_args("generate", argc, argv, &a, GENERATE_HELP);
    if (rc) return rc < 0 ? 0 : rc;
    if (a.out) return usage_error("generate", "-o belongs to 'gptstep trace'");
    Gen g;
    double t0 = now_seconds();
    if ((rc = open_gen(&g, &a, TRACE_OFF))) return rc;
    double t1 = now_seconds();
    rc = start_prompt(&g, &a);
    double t2 = now_seconds();
    /* the context check before the work: the prompt's positions, then n - 1 more are run */
    int need = g.trace.n_pos + (a.n > 0 ? a.n - 1 : 0);
    if (!rc && need > g.model.cfg.n_ctx) {
        char msg[300];
        snprintf(msg, sizeof msg, "-n %d after a %d-token prompt needs %d positions: the context is full at %d "
                 "(the model cannot see further); at most -n %d", a.n, g.trace.n_pos, need, g.model.cfg.n_ctx,
                 g.model.cfg.n_ctx - g.trace.n_pos + 1);
        rc = fail(msg);
    }
    if (!rc) rc = run_generation(&g, &a, 1);
    double t3 = now_seconds();
    if (!rc && a.verbose) print_times(&g, &a, t0, t1, t2, t3);
    gen_close(&g);
    return rc;
}

static int cmd_trace(int argc, char **argv) {
    GenArgs a;
    int rc = parse_gen_args("trace", argc, argv, &a, TRACE_HELP);
    if (rc) return rc < 0 ? 0 : rc;
    if (!a.out) return usage_error("trace", "-o FILE is required");
    Gen g;
    double t0 = now_seconds();
    if ((rc = open_gen(&g, &a, a.mode))) return rc;
    double t1 = now_seconds();
    rc = start_prompt(&g, &a);
    double t2 = now_seconds();
    if (!rc) rc = run_generation(&g, &a, 0);
    if (!rc && a.verbose) print_times(&g, &a, t0, t1, t2, now_seconds());
    Err err;
    if (!rc && trace_save(&g.trace, a.out, &err)) rc = fail(err.msg);
    if (!rc) {
        struct stat st;
        stat(a.out, &st);
        printf("%s: %d positions, %d steps, recording %s, %.1f MB\n", a.out, g.trace.n_pos, g.trace.n_steps,
               trace_mode_name(g.trace.mode), (double)st.st_size / 1e6);
    }
    gen_close(&g);
    return rc;
}

/* ---------------------------------------------------------------- dump */

static const char *DUMP_HELP =
    "usage: gptstep dump FILE [NAME] [--pos P] [--npy OUT]\n"
    "\n"
    "Without NAME, lists the trace: positions, steps and the tensor names it holds.\n"
    "With NAME (e.g. h.0.attn.weights, logits; see docs/trace.md), prints that tensor at position P\n"
    "(default: the last position), or writes it to OUT as a NumPy .npy file.\n";

static void list_trace(const Trace *tr) {
    Err name; /* the model's name as the trace holds it, control characters made visible */
    err_set(&name, "%s", tr->model);
    printf("model %s: %d layers, %d heads, %d channels, vocabulary %d, context %d\n", name.msg, tr->cfg.n_layer,
           tr->cfg.n_head, tr->cfg.n_embd, tr->cfg.n_vocab, tr->cfg.n_ctx);
    printf("recording: %s; %d positions; %d steps\n", trace_mode_name(tr->mode), tr->n_pos, tr->n_steps);
    if (tr->interventions[0]) printf("ablated: %s\n", tr->interventions);
    for (int i = 0; i < tr->n_steps; i++) {
        const TraceStep *s = &tr->steps[i];
        printf("  step %d: positions %d..%d, chosen %d (p=%.4f), %s", i, s->pos0, s->pos0 + s->n_pos - 1, s->chosen,
               s->chosen_prob, s->sampler.greedy == 1 ? "greedy" : s->sampler.greedy == -1 ? "picked by hand" : "sampled");
        if (s->sampler.greedy == 0)
            printf(" (temperature %g, top-k %d, top-p %g, seed %llu)", s->sampler.temperature, s->sampler.top_k,
                   s->sampler.top_p, (unsigned long long)s->sampler.seed);
        printf("\n");
    }
    printf("tensors at the last position:\n");
    int p = tr->n_pos - 1;
    for (int id = 0; p >= 0 && id < tr->n_ids; id++) {
        if (!trace_recorded(tr, id, p)) continue;
        char name[64];
        int64_t sh[2];
        int nd = trace_shape(tr, id, p, sh);
        trace_name(tr, id, name, sizeof name);
        if (nd == 2) printf("  %-22s [%lld, %lld]\n", name, (long long)sh[0], (long long)sh[1]);
        else printf("  %-22s [%lld]\n", name, (long long)sh[0]);
    }
}

static int cmd_dump(int argc, char **argv) {
    static struct option opts[] = {{"pos", required_argument, 0, 'p'}, {"npy", required_argument, 0, 'o'},
                                   {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    const char *npy = NULL;
    long pos = -1;
    int c;
    while ((c = getopt_long(argc, argv, ":p:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            if (parse_int(optarg, 0, 1 << 30, &pos)) return usage_error("dump", "--pos expects a position >= 0");
            break;
        case 'o': npy = optarg; break;
        case 'h': fputs(DUMP_HELP, stdout); return 0;
        default: return cli_bad_option("dump", c, argv);
        }
    }
    if (optind >= argc || argc - optind > 2) return usage_error("dump", "expected FILE [NAME]");
    const char *file = argv[optind], *name = argc - optind == 2 ? argv[optind + 1] : NULL;
    Trace tr;
    Err err;
    /* the index first (steps, tokens, what each position holds), then only the floats asked for */
    if (trace_load_part(&tr, file, -1, 0, &err)) return fail(err.msg);
    int rc = 0;
    char msg[600];
    if (!name) {
        list_trace(&tr);
    } else {
        int id = trace_id_by_name(&tr, name);
        if (pos < 0) pos = tr.n_pos - 1;
        if (id >= 0 && pos < tr.n_pos && trace_recorded(&tr, id, (int)pos)) {
            trace_free(&tr);
            if (trace_load_part(&tr, file, id, (int)pos, &err)) return fail(err.msg);
        }
        if (id < 0) {
            snprintf(msg, sizeof msg, "%s: no tensor named '%s' (list them with 'gptstep dump %s')", file, name, file);
            rc = fail(msg);
        } else if (pos >= tr.n_pos) {
            snprintf(msg, sizeof msg, "%s: position %ld is past the last position %d", file, pos, tr.n_pos - 1);
            rc = fail(msg);
        } else if (!trace_get(&tr, id, (int)pos)) {
            snprintf(msg, sizeof msg, "%s: '%s' was not recorded at position %ld (recording %s%s)", file, name, pos,
                     trace_mode_name(tr.mode), (id == trace_id(&tr, TK_LOGITS, 0) || id == trace_id(&tr, TK_PROBS, 0)) ? "; logits are kept at each step's last position unless recording is full" : "");
            rc = fail(msg);
        } else {
            int64_t sh[2];
            int nd = trace_shape(&tr, id, (int)pos, sh);
            const float *d = trace_get(&tr, id, (int)pos);
            if (npy) {
                if (npy_save(npy, d, nd, sh, &err)) rc = fail(err.msg);
            } else {
                char shape[64];
                if (nd == 2) snprintf(shape, sizeof shape, "%lld, %lld", (long long)sh[0], (long long)sh[1]);
                else snprintf(shape, sizeof shape, "%lld", (long long)sh[0]);
                printf("# %s at position %ld (token %d), shape [%s]\n", name, pos, tr.pos[pos].token, shape);
                int64_t rows = nd == 2 ? sh[0] : 1, cols = nd == 2 ? sh[1] : sh[0];
                for (int64_t r = 0; r < rows; r++) {
                    for (int64_t k = 0; k < cols; k++) printf("%s%.9g", k ? " " : "", d[r * cols + k]);
                    printf("\n");
                }
            }
        }
    }
    trace_free(&tr);
    return rc;
}

/* ---------------------------------------------------------------- heads */

static const char *ATTRIBUTE_HELP =
    "usage: gptstep attribute [--model MODEL] (--prompt TEXT | --unconditional) [--token \" piece\" | --metric M] [--ablate SPEC]\n"
    "\n"
    "Direct logit attribution: runs the prompt and splits the logit of one next token at its last position\n"
    "into what each part of the model wrote into the residual stream - the embedding, every head, every\n"
    "attention output bias, every MLP - with the final LayerNorm's scale frozen (docs/experiments.md).\n"
    "The parts and the final bias add up to the logit.\n"
    "  --token \" piece\"  the token (one token, e.g. \" castle\"; default: the most likely one)\n"
    "  --metric M        what to attribute instead: '\" flew\"-\" went\"' (quoted pieces, or ids: 1234-3478) is the\n"
    "                    difference of two logits, how much the model prefers one token to the other\n"
    ABLATE_HELP;

static int cmd_attribute(int argc, char **argv) {
    GenArgs a;
    const char *piece = NULL, *metric_text = NULL;
    /* --token and --metric are ours; the rest are generate's */
    char **rest = xmalloc(sizeof(char *) * (size_t)(argc + 1));
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--token") && i + 1 < argc) piece = argv[++i];
        else if (!strncmp(argv[i], "--token=", 8)) piece = argv[i] + 8;
        else if (!strcmp(argv[i], "--metric") && i + 1 < argc) metric_text = argv[++i];
        else if (!strncmp(argv[i], "--metric=", 9)) metric_text = argv[i] + 9;
        else rest[n++] = argv[i];
    }
    rest[n] = NULL;
    int rc = parse_gen_args("attribute", n, rest, &a, ATTRIBUTE_HELP);
    free(rest);
    if (rc) return rc < 0 ? 0 : rc;
    if (piece && metric_text) return usage_error("attribute", "give --token or --metric, not both");
    a.n = 0;
    Gen g;
    if ((rc = open_gen(&g, &a, TRACE_FULL))) return rc;
    if ((rc = start_prompt(&g, &a))) {
        gen_close(&g);
        return rc;
    }
    Err err;
    const int pos = g.trace.n_pos - 1, L = g.model.cfg.n_layer, NH = g.model.cfg.n_head;
    int token = argmax(g.logits, g.model.cfg.n_vocab);
    if (piece) {
        int *ids = NULL, k = 0;
        if (tok_encode(g.tok, piece, strlen(piece), 0, &ids, &k, &err) || k != 1) {
            char msg[400];
            snprintf(msg, sizeof msg, "--token \"%.100s\": expected one token, got %d (see 'gptstep tokens')", piece, k);
            free(ids);
            gen_close(&g);
            return fail(msg);
        }
        token = ids[0];
        free(ids);
    }
    Metric metric = {token, -1};
    if (metric_text && metric_parse(metric_text, g.tok, g.model.cfg.n_vocab, &metric, &err)) {
        gen_close(&g);
        char msg[400];
        snprintf(msg, sizeof msg, "--metric %.380s", err.msg);
        return fail(msg);
    }
    Attribution at;
    if (attribution_compute(&g, pos, metric, &at, &err)) {
        gen_close(&g);
        return fail(err.msg);
    }
    char label[256];
    if (metric.minus < 0) {
        tok_show(g.tok, metric.token, TOK_SHOW_TERMINAL, label, sizeof label);
        printf("logit of \"%s\" (id %d) after position %d: %.4f%s%s\n\n", label, metric.token, pos, at.logit,
               g.trace.interventions[0] ? ", ablated: " : "", g.trace.interventions);
    } else {
        metric_name(&metric, g.tok, TOK_SHOW_TERMINAL, label, sizeof label);
        printf("%s (ids %d, %d) after position %d: %.4f%s%s\n\n", label, metric.token, metric.minus, pos, at.logit,
               g.trace.interventions[0] ? ", ablated: " : "", g.trace.interventions);
    }
    printf("contributions (through the final LayerNorm with its scale frozen):\n");
    printf("layer ");
    for (int h = 0; h < NH; h++) printf(" head %-3d", h);
    printf("  attn bias     mlp\n");
    for (int l = 0; l < L; l++) {
        printf("%5d ", l);
        for (int h = 0; h < NH; h++) printf(" %8.3f", at.heads[l * NH + h]);
        printf("   %8.3f %8.3f\n", at.attn_bias[l], at.mlp[l]);
    }
    printf("embedding (token + position) %.4f, final LayerNorm bias %.4f\n", at.embed, at.final_bias);
    /* the largest parts, by magnitude */
    int np = L * NH + 2 * L + 1;
    double *val = xmalloc(sizeof(double) * (size_t)np);
    char (*name)[32] = xmalloc(sizeof(*name) * (size_t)np);
    int k = 0;
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < NH; h++) val[k] = at.heads[l * NH + h], snprintf(name[k++], 32, "head %d.%d", l, h);
        val[k] = at.mlp[l], snprintf(name[k++], 32, "mlp %d", l);
        val[k] = at.attn_bias[l], snprintf(name[k++], 32, "attn bias %d", l);
    }
    val[k] = at.embed, snprintf(name[k++], 32, "embedding");
    printf("\nlargest parts:\n");
    for (int r = 0; r < 10 && r < np; r++) {
        int best = -1;
        for (int i = 0; i < np; i++)
            if (!isnan(val[i]) && (best < 0 || fabs(val[i]) > fabs(val[best]))) best = i;
        printf("  %-14s %+9.4f\n", name[best], val[best]);
        val[best] = NAN;
    }
    printf("\nsum of the parts and the final bias: %.4f; the %s: %.4f (difference %.2g)\n", at.sum,
           metric.minus < 0 ? "logit" : "difference of the logits", at.logit, at.sum - at.logit);
    free(val);
    free(name);
    attribution_free(&at);
    gen_close(&g);
    return 0;
}

static const char *HEADS_HELP =
    "usage: gptstep heads [--model MODEL] [--text TEXT | --file PATH] [--repeat R] [--seed S]\n"
    "\n"
    "Scores every attention head by the mean weight its queries put on three kinds of key:\n"
    "  previous   the token just before the query (on running text)\n"
    "  first      the first token of the text\n"
    "  induction  on R random tokens repeated twice, the token that followed the earlier copy of the\n"
    "             query's token: the heads that let a model continue repeated text\n"
    "and names the clearest head of each kind (find them in the viewer with Up/Down and 1-9).\n"
    "  --text TEXT, --file PATH   the running text (default: a few storybook sentences)\n"
    "  --repeat R                 random tokens in the repeated sequence (default 40)\n"
    "  --seed S                   seed for the random tokens (default 0)\n";

static int cmd_heads(int argc, char **argv) {
    static struct option opts[] = {{"model", required_argument, 0, 'm'}, {"text", required_argument, 0, 'T'},
                                   {"file", required_argument, 0, 'F'},  {"repeat", required_argument, 0, 'r'},
                                   {"seed", required_argument, 0, 's'},  {"help", no_argument, 0, 'h'},
                                   {0, 0, 0, 0}};
    const char *model = NULL, *text = NULL, *file = NULL;
    long repeat = 40;
    SamplerSettings seed = {.seed = 0}; /* --seed parsed as generate's */
    int c, rc;
    while ((c = getopt_long(argc, argv, ":m:h", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'T': text = optarg; break;
        case 'F': file = optarg; break;
        case 'r':
            if (parse_int(optarg, 2, 100000, &repeat)) return usage_error("heads", "--repeat expects a number >= 2");
            break;
        case 's':
            if ((rc = sampler_option("heads", c, optarg, &seed))) return rc;
            break;
        case 'h': fputs(HEADS_HELP, stdout); return 0;
        default: return cli_bad_option("heads", c, argv);
        }
    }
    if (optind < argc) return usage_error("heads", "unexpected argument (pass text with --text)");
    if (text && file) return usage_error("heads", "give --text or --file, not both");
    Err err;
    char *owned = NULL;
    if (file) {
        size_t len;
        if (!(owned = read_text_file(file, &len, &err))) return fail(err.msg);
        text = owned;
    }
    GenArgs a = {.model = model, .sampler = sampler_default()};
    Gen g;
    if ((rc = open_gen(&g, &a, TRACE_ATTN))) {
        free(owned);
        return rc;
    }
    const int L = g.model.cfg.n_layer, NH = g.model.cfg.n_head;
    HeadScores *sc = xcalloc((size_t)L * NH, sizeof *sc);
    int R = (int)repeat, n_text = 0;
    if (heads_measure(&g, text, &R, seed.seed, sc, &n_text, &err)) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%.300s: %s", file ? file : text ? "--text" : "heads", err.msg);
        rc = fail(msg);
    } else {
        printf("attention heads of %s (%d layers x %d heads): the mean attention weight a query puts on\n"
               "  previous   the token just before it (running text, %d tokens)\n"
               "  first      the text's first token\n"
               "  induction  the token after the earlier copy of its own token (%d random tokens, repeated)\n"
               "  duplicate  the earlier copy of its own token (the same sequence)\n\n",
               g.model.name, L, NH, n_text, R);
        printf("layer  head  previous   first  induction  duplicate\n");
        int best[HEAD_SCORES] = {0, 0, 0, 0};
        for (int i = 0; i < L * NH; i++) {
            printf("%5d  %4d  %8.3f  %6.3f  %9.3f  %9.3f\n", i / NH, i % NH, sc[i].previous, sc[i].first, sc[i].induction, sc[i].duplicate);
            for (int k = 0; k < HEAD_SCORES; k++)
                if (head_score(&sc[i], k) > head_score(&sc[best[k]], k)) best[k] = i;
        }
        printf("\nclearest: previous token: layer %d head %d (%.2f); first token: layer %d head %d (%.2f);\n"
               "          induction: layer %d head %d (%.2f); duplicate token: layer %d head %d (%.2f)\n",
               best[0] / NH, best[0] % NH, sc[best[0]].previous, best[1] / NH, best[1] % NH, sc[best[1]].first,
               best[2] / NH, best[2] % NH, sc[best[2]].induction, best[3] / NH, best[3] % NH, sc[best[3]].duplicate);
    }
    free(sc);
    free(owned);
    gen_close(&g);
    return rc;
}

/* ---------------------------------------------------------------- info */

static const char *INFO_HELP =
    "usage: gptstep info [MODEL]\n"
    "\n"
    "Loads MODEL (a directory, or a name under models/; default " GPT2_DEFAULT_MODEL ") and prints its\n"
    "sizes, parameter count, storage type and tokenizer. Fails with a clear message on a bad checkpoint.\n";

static int cmd_info(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(INFO_HELP, stdout);
        return 0;
    }
    if (argc > 2) return usage_error("info", "expected one MODEL");
    Err err;
    char *dir = gpt2_resolve_model(argc > 1 ? argv[1] : NULL, &err);
    if (!dir) return fail(err.msg);
    Gpt2Model m;
    double t0 = now_seconds();
    if (gpt2_load(&m, dir, &err)) {
        free(dir);
        return fail(err.msg);
    }
    double dt = now_seconds() - t0;
    Tokenizer *t = tok_load_for_model(dir, &err);
    const Gpt2Config *c = &m.cfg;
    char *st = path_join(dir, "model.safetensors");
    struct stat sb;
    stat(st, &sb);
    printf("model       %s (%s)\n", m.name, dir);
    printf("file        %s, %.1f MB, %s\n", st, (double)sb.st_size / 1e6, m.dtype);
    printf("layers      %d\n", c->n_layer);
    printf("heads       %d of size %d\n", c->n_head, c->n_embd / c->n_head);
    printf("channels    %d (feed-forward %d)\n", c->n_embd, c->n_inner);
    printf("context     %d positions\n", c->n_ctx);
    printf("vocabulary  %d tokens\n", c->n_vocab);
    printf("parameters  %zu (%.1f M)%s\n", m.n_params, (double)m.n_params / 1e6,
           m.w.lm_head.f || m.w.lm_head.h ? ", separate lm_head" : ", output tied to wte");
    const char *copy = getenv("GPTSTEP_COPY_WEIGHTS");
    printf("weights     %s\n", m.half && !strcmp(m.dtype, "F16") ? "used in place from the mapped file (float16 matrices, made float32 by "
                                                                    "the kernels as they read them; biases and norms converted)"
                                : m.half ? "partly used in place from the mapped file (float16 matrices), the rest converted to float32"
                                : !m.arena ? "used in place from the mapped file (float32 at 64-byte boundaries)"
                                : m.map ? "partly used in place from the mapped file, the rest converted to float32"
                                : strcmp(m.dtype, "F32") ? "converted to float32 in memory"
                                : copy && !strcmp(copy, "1") ? "copied into memory (GPTSTEP_COPY_WEIGHTS=1)"
                                : "copied into memory (the file's float32 data is not at 64-byte boundaries, as "
                                  "use in place needs)");
    printf("tokenizer   %s\n", t ? "GPT-2 byte-level BPE" : err.msg);
    printf("loaded in   %.2f s\n", dt);
    free(st);
    free(dir);
    tok_free(t);
    gpt2_free(&m);
    return t ? 0 : 1;
}

/* ---------------------------------------------------------------- dispatch */

int cli_main(int argc, char **argv, const CliCommand *extra) {
    opterr = 0; /* each command says what is wrong in one line of its own (cli_bad_option) */
    char *help_args[] = {NULL, "--help", NULL};
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        if (argc >= 3 && strcmp(argv[1], "help") == 0) {
            help_args[0] = argv[2];
            argv = help_args;
            argc = 2;
        } else {
            print_main_help(argc < 2 ? stderr : stdout, extra);
            return argc < 2 ? 2 : 0;
        }
    } else {
        argv++;
        argc--;
    }
    if (strcmp(argv[0], "--version") == 0) {
        printf("gptstep %s\n", VERSION);
        return 0;
    }
    const char *cmd = argv[0];
    optind = 1;
    for (const CliCommand *c = extra; c && c->name; c++)
        if (strcmp(cmd, c->name) == 0) return c->run(argc, argv);
    if (strcmp(cmd, "tokens") == 0) return cmd_tokens(argc, argv);
    if (strcmp(cmd, "generate") == 0) return cmd_generate(argc, argv);
    if (strcmp(cmd, "trace") == 0) return cmd_trace(argc, argv);
    if (strcmp(cmd, "dump") == 0) return cmd_dump(argc, argv);
    if (strcmp(cmd, "info") == 0) return cmd_info(argc, argv);
    if (strcmp(cmd, "heads") == 0) return cmd_heads(argc, argv);
    if (strcmp(cmd, "attribute") == 0) return cmd_attribute(argc, argv);
    fprintf(stderr, "gptstep: unknown command '%s' (see 'gptstep --help')\n", cmd);
    return 2;
}
