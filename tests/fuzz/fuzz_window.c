/* fuzz_window.c - the window's core (app.c) as the SDL window drives it, with no window: each input is a
 * stream of events - keys, clicks, the wheel, typed text, ':' commands, frames drawn, jobs finished - on
 * the shipped storybook model, with every job (a step, a prompt, an ablation, a lesson step...) run on a
 * worker thread of its own while this thread goes on handling events and drawing, as app_sdl.c does.
 * With a lesson's clicker keys as hooks for inputs whose first byte is odd.
 *
 * Built twice: with AddressSanitizer (make fuzz-replay, replayed by make test) and with
 * ThreadSanitizer (build-fuzz-tsan/, run by make fuzz and make tsan), where any data race between the
 * job and the events fails: the run belongs to the job while it runs (app.h). Keys that write files
 * (E: export) or quit are left out; everything else a person can press is in. */
#define _GNU_SOURCE
#include <pthread.h>

#include "app.h"
#include "fuzz_viz.h"
#include "lesson.h"

static VizState *v;
static App *app;
static Lesson lesson;
static LessonPlayer player;
static pthread_t worker;
static int has_worker;

static void *worker_main(void *a) {
    app_job_run(a);
    return NULL;
}

static void start_job(void *ctx, App *a) {
    (void)ctx;
    if (pthread_create(&worker, NULL, worker_main, a)) app_job_run(a);
    else has_worker = 1;
}

/* What the window's loop does when a job has run: join its thread, finish it, play what was queued. */
static void poll_job(void) {
    if (app_busy(app) && !app_job_pending(app)) {
        if (has_worker) pthread_join(worker, NULL);
        has_worker = 0;
        app_poll(app);
    }
}

/* Waits for every job, and for every queued event they let run, to end. */
static void settle(void) {
    while (app_busy(app)) {
        if (has_worker) pthread_join(worker, NULL);
        has_worker = 0;
        app_poll(app);
    }
}

static const char *KEYS[] = {"Right", "Space", "PageDown", "Left", "PageUp", "Home", "End", "Up", "Down", "0", "1", "3", ",",
                             ".", "]", "[", "a", "g", "Tab", "v", "+", "-", "z", "t", "k", "p", "x", "d", "b",
                             "Return", ":", "l", "c", "?", "Escape", "u", "Backspace", "Delete", "Left", "Right"};
#define N_KEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

static const char *COMMANDS[] = {"next", "prev", "generate 2", "step 0", "layer 1", "head 2", "ablate 0.1", "ablate 1.mlp",
                                 "ablate clear", "ablate-mode mean", "compare Once upon a dog", "compare off", "attribute",
                                 "patch resid", "patch heads", "temperature 0.5", "top-k 3", "greedy on", "seed 7",
                                 "prompt The cat sat", "pick 1", "branch next", "view grid", "view all", "show-run next",
                                 "query 1", "cell 2 1", "zoom in", "pan right", "presenter toggle", "stage L0.attn"};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

enum { W = 640, H = 360 };
static unsigned char pixels[W * H * 4];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    v = fuzz_storybook_viewer();
    Err err;
    if (lesson_load(&lesson, fuzz_repo("lessons/03-self-attention.lesson"), &err)) {
        fprintf(stderr, "%s (run from the repository, or set GPTSTEP_ROOT)\n", err.msg);
        exit(1);
    }
    app = app_new(v, (AppHooks){0}, (AppFront){.start_job = start_job});
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    if (n < 1 || n > 512) return 0;
    /* the same starting point for every input, with no job running */
    Err err;
    settle();
    viz_view_defaults(&v->view);
    v->view.presenter = v->view.colorblind = 0;
    v->ui.quit = 0;
    v->run.gen.sampler = sampler_default();
    if (viz_command(v, "prompt Once upon a time", &err) || viz_command(v, "ablate clear", &err) ||
        viz_command(v, "ablate-mode zero", &err) || viz_command(v, "compare off", &err))
        abort();
    player = (LessonPlayer){&lesson, 0, 1, 0};
    lesson.shown = -1;
    app_set_hooks(app, data[0] & 1 ? lesson_player_hooks(&player) : (AppHooks){0});
    if (data[0] & 1) app_work(app); /* the lesson's first step, as a job */
    if (app_editing(app)) app_key(app, "Escape", 0, 0);
    for (size_t i = 1; i + 2 < n; i += 3) {
        unsigned op = data[i] % 9, a = data[i + 1], b = data[i + 2];
        double x = a * (W / 256.0), y = b * (H / 256.0);
        switch (op) {
        case 0: app_key(app, KEYS[a % N_KEYS], b & 1, (b >> 1) & 1 && KEYS[a % N_KEYS][0] != 'e'); break;
        case 1: app_command(app, COMMANDS[a % N_COMMANDS]); break;
        case 2: app_button(app, x, y, b & 1, 0); break;
        case 3: app_motion(app, x, y); break;
        case 4: app_wheel(app, x, y, (a & 1) ? 1 : -1, b & 1); break;
        case 5: app_text(app, (const char *[]){"a", " ", "\xC3\xA9", "1"}[a % 4]); break;
        case 6: /* a frame, as the window draws it: the progress line over the last frame while busy */
            if (app_busy(app)) app_draw_progress(app, pixels, W, H, W * 4, a * 10u);
            else app_draw(app, pixels, W, H, W * 4, 0);
            break;
        case 7: poll_job(); break;
        default: break; /* the loop's next turn comes before the job ends */
        }
        v->ui.quit = 0;
    }
    settle();
    if (app_editing(app)) app_key(app, "Escape", 0, 0);
    app_set_hooks(app, (AppHooks){0});
    app_draw(app, pixels, W, H, W * 4, 0);
    return 0;
}
