/* app.h - the SDL2 window around the viewer, with hooks that let a lesson drive it. */
#ifndef GPTSTEP_APP_H
#define GPTSTEP_APP_H

#include "viz.h"

typedef struct App App;

/* Optional hooks (any may be NULL). key returns 1 when it consumed the key; tick runs once per loop
 * and returns 1 to ask for a redraw; overlay draws over the viewer; after_job runs when a worker
 * job (load, prompt) finishes. */
typedef struct {
    void *ctx;
    int (*key)(void *ctx, VizState *v, const char *key, int shift);
    int (*tick)(void *ctx, VizState *v, App *app);
    void (*overlay)(void *ctx, VizState *v, cairo_t *cr, double w, double h);
    void (*after_job)(void *ctx, VizState *v, int rc);
} AppHooks;

/* Opens the window on v (loading v->model_arg and running v->prompt first when not loaded) and runs
 * until the user quits. Returns the exit status. */
int app_main(VizState *v, const char *title, AppHooks hooks);
/* Runs a command as a key would (slow ones on the worker thread), showing its error in the window. */
void app_run_command(App *a, const char *cmd);

int viz_view_main(int argc, char **argv);
int viz_render_main(int argc, char **argv);
int viz_patch_main(int argc, char **argv);

#endif
