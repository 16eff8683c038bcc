/* fuzz_viz.h - what the viewer's harnesses share: the viewer on the shipped storybook model, loaded and
 * its prompt run once for the whole process. */
#ifndef GPTSTEP_FUZZ_VIZ_H
#define GPTSTEP_FUZZ_VIZ_H

#include "fuzz.h"
#include "viz.h"

static inline VizState *fuzz_storybook_viewer(void) {
    VizState *v = calloc(1, sizeof *v);
    viz_init(v);
    snprintf(v->run.model_arg, sizeof v->run.model_arg, "%s", fuzz_repo("models/storybook"));
    Err err;
    if (viz_load_and_run(v, &err)) {
        fprintf(stderr, "%s (run from the repository, or set GPTSTEP_ROOT)\n", err.msg);
        exit(1);
    }
    return v;
}

#endif
