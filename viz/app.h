/* app.h - the viewer as an interactive program, apart from any window system: keys, text, mouse and
 * wheel in (by name and in pixels), commands through the one command table, slow work as a "job", and
 * the frame drawn into a pixel buffer. Two front ends drive it: the SDL2 window (app_sdl.c) and the
 * browser page (web.c); lessons plug in through hooks.
 *
 * Jobs: anything that runs the model (a step, a prompt, a model, the derived numbers, a lesson step)
 * is a job. The front end decides where it runs - the SDL window on a worker thread, the page after
 * the frame showing its progress line has been painted - by calling app_job_run; meanwhile the run
 * belongs to the job, the last frame stays on screen, and keys, clicks and commands wait in a queue in
 * the order they came. */
#ifndef GPTSTEP_APP_H
#define GPTSTEP_APP_H

#include <stdatomic.h>

#include "viz.h"

typedef struct App App;

/* Optional hooks (any may be NULL). key: 1 when it consumed the key, 2 when it consumed it and wants
 * its work hook run as a job (a lesson step: it runs the model). */
typedef struct {
    void *ctx;
    int (*key)(void *ctx, VizState *v, const char *key, int shift);
    int (*work)(void *ctx, VizState *v, Err *err);
    /* a lecturer's console (a lesson's): drawn into a second window when one is open */
    void (*console)(void *ctx, cairo_t *cr, double W, double H);
    int open_console; /* open it at the start (gptstep lesson --console) */
} AppHooks;

/* What the front end does for the core (any may be NULL): start_job arranges for app_job_run(a) to run
 * (on another thread, or later on this one); fullscreen and text_input follow the state; the clipboard. */
typedef struct {
    void *ctx;
    void (*start_job)(void *ctx, App *a);
    void (*fullscreen)(void *ctx, int on);
    void (*text_input)(void *ctx, int on);
    void (*clip_set)(void *ctx, const char *utf8);
    char *(*clip_get)(void *ctx); /* malloc'd, or NULL */
} AppFront;

App *app_new(VizState *v, AppHooks hooks, AppFront front);
void app_free(App *a);
VizState *app_state(App *a);
/* Replaces the hooks (a lesson opened in the page), and starts the work hook as a job. */
void app_set_hooks(App *a, AppHooks hooks);
void app_work(App *a);
/* Loads the model and runs the prompt (as a job) unless v is loaded; the derived numbers otherwise. */
void app_start(App *a);

/* Input. key is an SDL-independent name ("Right", "a", "PageDown", "Return", "?"...); text is what a
 * printable key typed (UTF-8), used while the prompt or command editor is open. x, y are in the frame's
 * pixels. Each returns 1 when the frame should be drawn again. */
int app_key(App *a, const char *key, int shift, int ctrl);
int app_text(App *a, const char *utf8);
int app_motion(App *a, double x, double y);
int app_button(App *a, double x, double y, int right, int shift);
int app_wheel(App *a, double x, double y, int dy, int ctrl);
/* Runs one command line as a key would (slow ones as a job), showing its error in the frame. */
int app_command(App *a, const char *cmd);

/* Jobs. app_busy: a job owns the run. app_job_run runs it (on whatever thread the front end chose);
 * app_poll, on the front end's thread, finishes a job that has run and replays what was queued
 * meanwhile: 1 when it did (draw again). */
int app_busy(const App *a);
int app_editing(const App *a); /* the prompt or command editor is open */
int app_job_pending(const App *a); /* started and not yet run to its end */
void app_job_run(App *a);
int app_poll(App *a);
/* The window is closing while a job runs: a model's load stops at its next tensor (ui.stop), the
 * progress line says "closing", nothing queued runs; the front end waits for the job, then closes. */
void app_stop(App *a);

/* Draws the frame into w x h ARGB32 pixels (cairo's layout; stride in bytes): the viewer, and the editor
 * bar when open. While busy it draws nothing: the front end shows the last frame with app_draw_progress
 * over a copy of it (ms: how long the job has run, for the spinner). */
void app_draw(App *a, unsigned char *pixels, int w, int h, int stride, unsigned ms);
void app_draw_progress(App *a, unsigned char *pixels, int w, int h, int stride, unsigned ms);

/* The SDL2 window: opens it on v (loading v->model_arg and running v->prompt first when not loaded) and
 * runs until the user quits. Returns the exit status; with no display it returns 1 at once with one
 * line saying so (SDL's invisible offscreen and dummy drivers are refused unless SDL_VIDEODRIVER asks
 * for them). */
int app_main(VizState *v, const char *title, AppHooks hooks);

int viz_view_main(int argc, char **argv);
int viz_render_main(int argc, char **argv);
int viz_patch_main(int argc, char **argv);

#endif
