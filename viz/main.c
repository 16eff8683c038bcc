/* main.c - the gptstep program: the core's commands (src/cli.c) plus the viewer's (view, render, lesson). */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "cli.h"
#include "lesson.h"

int main(int argc, char **argv) {
    /* OpenMP's threads spin for a long while when they wait for each other, which is fastest on an idle
     * machine but several times slower when other programs keep the cores busy (a lecturer's laptop).
     * A short spin keeps both cases fast. libgomp reads its settings when the program loads, so the
     * program runs itself again once with the setting, unless the user chose one. */
    if (!getenv("GOMP_SPINCOUNT") && !getenv("OMP_WAIT_POLICY")) {
        setenv("GOMP_SPINCOUNT", "20000", 1);
        execv("/proc/self/exe", argv); /* returns only on failure: then carry on as we are */
    }
    static const CliCommand viewer[] = {
        {"view", "open the viewer window: step through generation, see every head and probability", viz_view_main},
        {"render", "draw a view of the viewer to PNG, SVG or PDF without a window", viz_render_main},
        {"lesson", "play a lesson script in the viewer, or export it as a PDF handout", viz_lesson_main},
        {0, 0, 0},
    };
    return cli_main(argc, argv, viewer);
}
