/* main.c - the gptstep program: the core's commands (src/cli.c) plus the viewer's (view, render, lesson). */
#include "app.h"
#include "cli.h"
#include "lesson.h"

int main(int argc, char **argv) {
    static const CliCommand viewer[] = {
        {"view", "open the viewer window: step through generation, see every head and probability", viz_view_main},
        {"render", "draw a view of the viewer to PNG, SVG or PDF without a window", viz_render_main},
        {"lesson", "play a lesson script in the viewer, or export it as a PDF handout", viz_lesson_main},
        {"patch", "activation patching: which layer and position restore a clean prediction", viz_patch_main},
        {0, 0, 0},
    };
    return cli_main(argc, argv, viewer);
}
