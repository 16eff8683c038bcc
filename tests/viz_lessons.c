/* viz_lessons.c - stepping a lesson forward then back reproduces exactly the same rendered frame, at
 * every step of every lesson given.   viz_lessons LESSON... */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "lesson.h"

static cairo_surface_t *frame(VizState *v) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 800, 450);
    cairo_t *cr = cairo_create(s);
    viz_draw(v, cr, 800, 450);
    cairo_destroy(cr);
    cairo_surface_flush(s);
    return s;
}

static int same(cairo_surface_t *a, cairo_surface_t *b) {
    return memcmp(cairo_image_surface_get_data(a), cairo_image_surface_get_data(b),
                  (size_t)cairo_image_surface_get_stride(a) * 450) == 0;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        Lesson l;
        Err err;
        VizState *v = calloc(1, sizeof *v);
        viz_init(v);
        CHECK(lesson_load(&l, argv[i], &err) == 0, "%s", err.msg);
        for (int k = 0; k + 1 < l.n_steps; k++) {
            CHECK(lesson_show(&l, v, k, &err) == 0, "%s", err.msg);
            cairo_surface_t *before = frame(v);
            lesson_show(&l, v, k + 1, &err);
            lesson_show(&l, v, k, &err);
            cairo_surface_t *after = frame(v);
            CHECK(same(before, after), "%s: step %d, forward then back, draws a different frame", argv[i], k + 1);
            cairo_surface_destroy(before);
            cairo_surface_destroy(after);
        }
        printf("%s: %d steps, each identical after forward and back\n", argv[i], l.n_steps);
        lesson_free(&l);
        viz_free(v);
        free(v);
    }
    return check_report("lesson replay");
}
