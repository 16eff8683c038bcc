/* lesson_export.c - what a lesson writes: every step as a handout page (A4 or letter), a slide or a PNG,
 * and the browser page opening on the lesson. */
#define _GNU_SOURCE
#include "lesson.h"

#include <cairo-pdf.h>
#include <ctype.h>
#include <math.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include "app.h"
#include "cli.h"
#include "vizint.h"


/* One handout page: the title and step above, the view scaled to the page's width (drawn at a canvas
 * size whose smallest labels come out at 7 pt or more), the caption below it at 10.5 pt, the page
 * number at the foot. */
static void paper_page(Lesson *l, VizState *v, cairo_t *cr, double PW, double PH, int k) {
    const double M = 36, body = 10.5;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    Gfx g;
    gfx_begin(&g, cr, PW, PH, 0, 0);
    g.fs = body, g.fs_min = 7;
    gfx_font(&g, FONT_SANS, 11, 1);
    gfx_color(&g, GFX_INK);
    char step[64];
    snprintf(step, sizeof step, "step %d of %d", k + 1, l->n_steps);
    double sw = gfx_text_w(&g, step);
    gfx_text_fit(&g, M, M, l->title, PW - 2 * M - sw - 12, 0);
    gfx_font(&g, FONT_SANS, 9, 0);
    gfx_color(&g, GFX_MUTED);
    gfx_text(&g, PW - M, M, step, 1);
    /* the caption's room first, then the view in what is left: a 16:9 canvas drawn so that its smallest
     * text (13 px) comes out at 7 pt or more */
    double y = M + 10, foot = PH - M + 14, vw = PW - 2 * M;
    double cap = viz_caption_print(v, cr, (Rect){M, 0, vw, 0}, body, 0);
    double view_h = fmin(vw * 9 / 16, foot - 16 - 12 - cap - y);
    if (view_h < (foot - y) * 0.45) view_h = (foot - y) * 0.45; /* a very long caption is cut, not the view */
    double view_w = view_h * 16 / 9;
    double cw = fmin(1280, view_w * 13 / 7), ch = cw * 9 / 16, sc = view_w / cw;
    char *caption = xstrdup(v->view.caption), *title = xstrdup(v->view.title);
    v->view.caption[0] = 0, v->view.title[0] = 0; /* both printed on the page itself */
    double vx = M + (vw - view_w) / 2;
    cairo_save(cr);
    cairo_translate(cr, vx, y);
    cairo_scale(cr, sc, sc);
    cairo_rectangle(cr, 0, 0, cw, ch);
    cairo_clip(cr);
    viz_draw(v, cr, cw, ch);
    cairo_restore(cr);
    snprintf(v->view.caption, sizeof v->view.caption, "%s", caption);
    snprintf(v->view.title, sizeof v->view.title, "%s", title);
    free(caption);
    free(title);
    y += view_h + 12;
    double room = foot - 16 - y;
    viz_caption_print(v, cr, (Rect){M, y, vw, cap < room ? cap : room}, body, 1);
    gfx_begin(&g, cr, PW, PH, 0, 0);
    g.fs_min = 7;
    gfx_font(&g, FONT_SANS, 8, 0);
    gfx_color(&g, GFX_MUTED);
    snprintf(step, sizeof step, "%d", k + 1);
    gfx_text(&g, PW / 2, foot, step, 0.5);
}

int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, const char *paper, int portrait, Err *err) {
    /* slides: 1600x900 pages; paper: A4 or Letter, in points */
    double W = 1600, H = 900;
    if (paper && !strcasecmp(paper, "a4")) W = 841.89, H = 595.28;
    else if (paper && !strcasecmp(paper, "letter")) W = 792, H = 612;
    else if (paper) return err_set(err, "--paper expects a4 or letter, got '%s'", paper);
    if (paper && portrait) {
        double t = W;
        W = H, H = t;
    }
    cairo_surface_t *ps = NULL;
    if (pdf) {
        ps = cairo_pdf_surface_create(pdf, W, H);
        if (cairo_surface_status(ps) != CAIRO_STATUS_SUCCESS) {
            cairo_surface_destroy(ps);
            return err_set(err, "%s: cannot create the PDF", pdf);
        }
        cairo_pdf_surface_set_metadata(ps, CAIRO_PDF_METADATA_TITLE, l->title);
        cairo_pdf_surface_set_metadata(ps, CAIRO_PDF_METADATA_CREATOR, "gptstep");
    }
    if (png_dir) mkdir(png_dir, 0755);
    int rc = 0;
    for (int k = 0; k < l->n_steps && rc == 0; k++) {
        rc = lesson_show(l, v, k, err);
        if (rc) break;
        if (ps) {
            cairo_t *cr = cairo_create(ps);
            if (paper) paper_page(l, v, cr, W, H, k);
            else viz_draw(v, cr, W, H);
            cairo_show_page(cr);
            cairo_destroy(cr);
        }
        if (png_dir) {
            char path[1024];
            snprintf(path, sizeof path, "%s/step-%02d.png", png_dir, k + 1);
            rc = viz_export(v, path, 1600, 900, err);
        }
        if (isatty(2)) fprintf(stderr, "\r[%d/%d] %s", k + 1, l->n_steps, l->title); /* progress on a terminal */
    }
    if (isatty(2)) fprintf(stderr, "\r%*s\r", 40 + (int)strlen(l->title), "");
    if (ps) {
        cairo_surface_finish(ps);
        if (rc == 0 && cairo_surface_status(ps) != CAIRO_STATUS_SUCCESS) rc = err_set(err, "%s: cannot write the PDF", pdf);
        cairo_surface_destroy(ps);
    }
    return rc;
}

/* ---- the lesson as a page ---- */

static char *base64(const unsigned char *d, size_t n) {
    static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = xmalloc(4 * (n / 3 + 1) + 1), *p = o;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
        *p++ = A[v >> 18 & 63], *p++ = A[v >> 12 & 63];
        *p++ = i + 1 < n ? A[v >> 6 & 63] : '=';
        *p++ = i + 2 < n ? A[v & 63] : '=';
    }
    *p = 0;
    return o;
}

/* The page built by `make web` (GPTSTEP_WEB_PAGE, else build/web/gptstep.html beside models/), with the
 * lesson's file inside it: the page opens on it. */
int lesson_html(const Lesson *l, const char *lesson_path, const char *out, Err *err) {
    const char *env = getenv("GPTSTEP_WEB_PAGE");
    char *page_path = NULL;
    if (env && *env) page_path = xstrdup(env);
    else {
        char *root = models_root();
        if (root) {
            char *up = path_join(root, "../build/web/gptstep.html");
            page_path = up;
            free(root);
        }
    }
    if (!page_path || !path_is_file(page_path)) {
        int rc = err_set(err, "--html needs the browser page: run 'make web' first (looked for %s)", page_path ? page_path : "build/web/gptstep.html");
        free(page_path);
        return rc;
    }
    size_t n_page = 0, n_lesson = 0;
    char *page = NULL, *text = NULL;
    if (read_file(page_path, &page, &n_page, err) || read_file(lesson_path, &text, &n_lesson, err)) {
        free(page_path), free(page);
        return -1;
    }
    free(page_path);
    char *body = strstr(page, "<body>");
    if (!body) {
        free(page), free(text);
        return err_set(err, "%s: not gptstep's page (no <body>)", getenv("GPTSTEP_WEB_PAGE") ? getenv("GPTSTEP_WEB_PAGE") : "build/web/gptstep.html");
    }
    body += strlen("<body>");
    const char *slash = strrchr(lesson_path, '/');
    char *b64 = base64((const unsigned char *)text, n_lesson), name[256];
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : lesson_path);
    for (char *c = name; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-' && *c != '_') *c = '_';
    FILE *f = fopen(out, "wb");
    int rc = 0;
    if (!f) rc = err_set(err, "%s: cannot write", out);
    else {
        /* the title: the lesson's, escaped for HTML */
        char *t = strstr(page, "<title>gptstep</title>");
        const char *rest = page;
        if (t && t < body) {
            fwrite(page, 1, (size_t)(t - page), f);
            fputs("<title>", f);
            for (const char *c = l->title; *c; c++)
                if (*c == '<') fputs("&lt;", f);
                else if (*c == '&') fputs("&amp;", f);
                else fputc(*c, f);
            fputs(" \xE2\x80\x94 gptstep</title>", f);
            rest = t + strlen("<title>gptstep</title>");
        }
        fwrite(rest, 1, (size_t)(body - rest), f);
        fprintf(f, "\n<script type=\"text/plain\" id=\"gptstep-lesson\" data-name=\"%s\">%s</script>", name, b64);
        fwrite(body, 1, n_page - (size_t)(body - page), f);
        if (fclose(f)) rc = err_set(err, "%s: cannot write", out);
    }
    free(b64), free(page), free(text);
    return rc;
}
