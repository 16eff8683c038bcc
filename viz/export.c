/* export.c - the current drawing to a PNG, SVG or PDF file, at any size, through the same viz_draw. */
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <stdio.h>
#include <string.h>

#include "viz.h"

cairo_surface_t *viz_file_surface(const char *path, int w, int h, const char *kinds, int *png, Err *err) {
    const char *dot = strrchr(path, '.');
    cairo_surface_t *s;
    *png = 0;
    if (dot && !strcmp(dot, ".png")) s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h), *png = 1;
    else if (dot && !strcmp(dot, ".pdf")) s = cairo_pdf_surface_create(path, w, h);
    else if (dot && !strcmp(dot, ".svg")) s = cairo_svg_surface_create(path, w, h);
    else return err_set(err, "%s: expected a file name ending in %s", path, kinds), NULL;
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_status_t st = cairo_surface_status(s);
        cairo_surface_destroy(s);
        return err_set(err, "%s: cannot create: %s", path, cairo_status_to_string(st)), NULL;
    }
    if (!*png) cairo_surface_set_fallback_resolution(s, 300, 300);
    return s;
}

int viz_file_finish(cairo_surface_t *s, const char *path, int png, Err *err) {
    cairo_surface_flush(s);
    cairo_status_t st = png ? cairo_surface_write_to_png(s, path) : CAIRO_STATUS_SUCCESS;
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    return st == CAIRO_STATUS_SUCCESS ? 0 : err_set(err, "%s: cannot write: %s", path, cairo_status_to_string(st));
}

int viz_export(VizState *v, const char *path, int w, int h, Err *err) {
    int png;
    cairo_surface_t *s = viz_file_surface(path, w, h, ".png, .svg or .pdf", &png, err);
    if (!s) return -1;
    cairo_t *cr = cairo_create(s);
    /* No hover tooltip and no message in a file. The window redraws (and records its hit areas) after. */
    int hover = v->ui.hover;
    char msg[sizeof v->ui.message];
    memcpy(msg, v->ui.message, sizeof msg);
    v->ui.hover = -1;
    v->ui.message[0] = 0;
    viz_prepare(v);
    viz_draw(v, cr, w, h);
    v->ui.hover = hover;
    memcpy(v->ui.message, msg, sizeof msg);
    cairo_destroy(cr);
    if (viz_file_finish(s, path, png, err)) return -1;
    return 0;
}
