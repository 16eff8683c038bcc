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
#include <time.h>
#include <unistd.h>
#include <strings.h>
#include <sys/stat.h>

#include "app.h"
#include "cli.h"
#include "vizint.h"


/* One handout page: the title and step above, the view scaled to the page's width (drawn at a canvas
 * size whose smallest labels come out at 7 pt or more), the caption below it at 10.5 pt, the page
 * number at the foot. */
/* Text wrapped at spaces into w from y on, in the font set; returns the y after it (draw 0: measures). */
static double wrapped(Gfx *g, double x, double y, double w, const char *text, int draw) {
    double lh = gfx_line_h(g) * 1.15;
    char line[1024];
    const char *p = text;
    while (*p) {
        size_t n = 0, last_space = 0;
        while (p[n] && p[n] != '\n' && n + 1 < sizeof line) {
            line[n] = p[n];
            line[n + 1] = 0;
            if (p[n] == ' ') last_space = n;
            if (gfx_text_w(g, line) > w && last_space) {
                n = last_space;
                break;
            }
            n++;
        }
        line[n] = 0;
        if (draw) gfx_text(g, x, y + gfx_ascent(g), line, 0);
        y += lh;
        p += n;
        while (*p == ' ' || *p == '\n') p++;
    }
    return y;
}

/* The lecturer's part of a page or a console: the notes, the expected answer, what comes next. */
static double lecturer_text(const Lesson *l, int k, Gfx *g, double x, double y, double w, double fs, int draw) {
    char notes[4096], answer[1024], next[256];
    lesson_notes(l, k, notes, sizeof notes);
    lesson_expected_answer(l, k, answer, sizeof answer);
    lesson_heading(l, k + 1, next, sizeof next);
    gfx_font(g, FONT_SANS, fs, 1);
    gfx_color(g, GFX_ACCENT);
    if (draw) gfx_text(g, x, y + gfx_ascent(g), "Notes", 0);
    y += gfx_line_h(g) * 1.2;
    gfx_font(g, FONT_SANS, fs, 0);
    gfx_color(g, notes[0] ? GFX_INK : GFX_MUTED);
    y = wrapped(g, x, y, w, notes[0] ? notes : "(no notes for this step: add 'note' lines under its heading)", draw);
    if (answer[0]) {
        y += gfx_line_h(g) * 0.5;
        gfx_font(g, FONT_SANS, fs, 1);
        gfx_color(g, GFX_ACCENT);
        if (draw) gfx_text(g, x, y + gfx_ascent(g), "Expected answer", 0);
        y += gfx_line_h(g) * 1.2;
        gfx_font(g, FONT_SANS, fs, 0);
        gfx_color(g, GFX_INK);
        y = wrapped(g, x, y, w, answer, draw);
    }
    y += gfx_line_h(g) * 0.5;
    gfx_font(g, FONT_SANS, fs, 1);
    gfx_color(g, GFX_MUTED);
    char line[400];
    snprintf(line, sizeof line, "Next: %s", next[0] ? next : "the end of the lesson");
    if (draw) gfx_text_fit(g, x, y + gfx_ascent(g), line, w, 0);
    y += gfx_line_h(g) * 1.2;
    return y;
}

void lesson_console_draw(const Lesson *l, int k, cairo_t *cr, double W, double H, double elapsed) {
    Gfx g;
    gfx_begin(&g, cr, W, H, 0, 0);
    gfx_color(&g, (Rgb){0.12, 0.12, 0.14});
    cairo_paint(cr);
    double fs = fmax(14, H / 30), pad = fs;
    g.fs = fs, g.fs_min = 10;
    char head[300], line[400];
    lesson_heading(l, k, head, sizeof head);
    /* the step and the clock, large */
    gfx_font(&g, FONT_SANS, fs * 1.4, 1);
    gfx_color(&g, GFX_WHITE);
    snprintf(line, sizeof line, "step %d of %d", k + 1, l->n_steps);
    gfx_text(&g, pad, pad + gfx_ascent(&g), line, 0);
    int s = (int)elapsed;
    time_t now = time(NULL);
    struct tm tmv;
    localtime_r(&now, &tmv);
    snprintf(line, sizeof line, "%d:%02d elapsed \xC2\xB7 %02d:%02d", s / 60, s % 60, tmv.tm_hour, tmv.tm_min);
    gfx_text(&g, W - pad, pad + gfx_ascent(&g), line, 1);
    double y = pad + gfx_line_h(&g) * 1.3;
    gfx_font(&g, FONT_SANS, fs * 1.1, 1);
    gfx_color(&g, (Rgb){0.62, 0.78, 1.0});
    gfx_text_fit(&g, pad, y + gfx_ascent(&g), head, W - 2 * pad, 0);
    y += gfx_line_h(&g) * 1.5;
    /* the notes on a light panel */
    gfx_fill(&g, (Rect){pad * 0.5, y, W - pad, H - y - pad * 0.5}, GFX_PANEL);
    lecturer_text(l, k, &g, pad, y + pad * 0.5, W - 2 * pad, fs, 1);
}

static void paper_page(Lesson *l, VizState *v, cairo_t *cr, double PW, double PH, int k, int notes) {
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
    double notes_h = 0;
    if (notes) { /* the lecturer's part at the foot, measured first */
        notes_h = lecturer_text(l, k, &g, M, 0, vw, body, 0) + 8;
        foot -= notes_h;
    }
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
    if (notes) {
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.88);
        cairo_rectangle(cr, M, foot - 4, vw, 0.8);
        cairo_fill(cr);
        g.fs = body;
        lecturer_text(l, k, &g, M, foot + 4, vw, body, 1);
        foot += notes_h;
    }
    gfx_font(&g, FONT_SANS, 8, 0);
    gfx_color(&g, GFX_MUTED);
    snprintf(step, sizeof step, "%d", k + 1);
    gfx_text(&g, PW / 2, foot, step, 0.5);
}

/* Every step as a page (pdf) and/or a PNG; notes: the pages carry the lecturer's part (--notes). */
static int export_pages(Lesson *l, VizState *v, const char *pdf, const char *png_dir, const char *paper, int portrait, int notes, Err *err) {
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
            if (paper) paper_page(l, v, cr, W, H, k, notes);
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

int lesson_export(Lesson *l, VizState *v, const char *pdf, const char *png_dir, const char *paper, int portrait, Err *err) {
    return export_pages(l, v, pdf, png_dir, paper, portrait, 0, err);
}

int lesson_export_notes(Lesson *l, VizState *v, const char *pdf, const char *paper, Err *err) {
    return export_pages(l, v, pdf, NULL, paper ? paper : "a4", 1, 1, err);
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
