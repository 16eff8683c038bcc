/* gfx.c - the drawing layer (gfx.h): palette, text, colour maps, cells. */
#define _DEFAULT_SOURCE /* M_PI */
#include "gfx.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const Rgb GFX_BG = {0.97, 0.97, 0.96}, GFX_PANEL = {1, 1, 1}, GFX_INK = {0.12, 0.12, 0.14},
          GFX_MUTED = {0.40, 0.40, 0.45}, GFX_RULE = {0.82, 0.82, 0.85}, GFX_ACCENT = {0.10, 0.40, 0.85},
          GFX_CHOSEN = {0.85, 0.33, 0.10}, GFX_PROMPT = {0.90, 0.93, 0.98}, GFX_GENERATED = {0.99, 0.93, 0.86},
          GFX_HILITE = {1.0, 0.80, 0.0}, GFX_ERROR = {0.75, 0.10, 0.10}, GFX_MASKED = {0.93, 0.93, 0.94},
          GFX_PICKED = {0.50, 0.20, 0.65}, GFX_WHITE = {1, 1, 1};

void gfx_begin(Gfx *g, cairo_t *cr, double W, double H, int presenter, int colorblind) {
    memset(g, 0, sizeof *g);
    g->cr = cr;
    g->W = W, g->H = H;
    g->colorblind = colorblind;
    g->presenter = presenter;
    cairo_surface_type_t t = cairo_surface_get_type(cairo_get_target(cr));
    g->vector = t == CAIRO_SURFACE_TYPE_PDF || t == CAIRO_SURFACE_TYPE_SVG || t == CAIRO_SURFACE_TYPE_PS ||
                t == CAIRO_SURFACE_TYPE_RECORDING;
    /* Normal mode: body text 1/50 of the height (also bounded by the width), nothing under 1/55 of it
     * or 13 px. Presenter mode: nothing under 1/40 of the height. */
    double by_h = H / 50.0, by_w = W / 90.0;
    if (presenter) { /* the back of a room: body text 1/28 of the height whatever the shape of the screen */
        g->fs_min = H / 40.0;
        g->fs = H / 28.0;
    } else {
        g->fs_min = fmax(13.0, fmin(H / 55.0, W / 100.0));
        g->fs = fmax(g->fs_min * 1.1, fmin(by_h, by_w));
    }
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF); /* extents scale linearly */
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

void gfx_color(Gfx *g, Rgb c) { cairo_set_source_rgb(g->cr, c.r, c.g, c.b); }
void gfx_color_a(Gfx *g, Rgb c, double a) { cairo_set_source_rgba(g->cr, c.r, c.g, c.b, a); }
Rgb gfx_mix(Rgb a, Rgb b, double t) { return (Rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }

#ifdef GPTSTEP_WEB
/* The browser page has no fontconfig: the same DejaVu files, embedded in the page (under /fonts), are
 * opened through FreeType. The CJK fallback is not embedded (its 4 MB would not fit the page's budget):
 * such text shows as empty boxes there. */
#include <cairo-ft.h>
static cairo_font_face_t *web_face(FontFace face, int style) {
    static cairo_font_face_t *faces[2][4];
    static FT_Library lib;
    static const char *FILES[2][4] = {
        {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf"},
        {"DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"}};
    int f = face == FONT_MONO, st = style & 3;
    if (!faces[f][st]) {
        char path[128];
        FT_Face ft;
        snprintf(path, sizeof path, "/fonts/%s", FILES[f][st]);
        if (!lib && FT_Init_FreeType(&lib)) return NULL;
        if (FT_New_Face(lib, path, 0, &ft)) return NULL;
        faces[f][st] = cairo_ft_font_face_create_for_ft_face(ft, 0);
    }
    return faces[f][st];
}
#endif

double gfx_font(Gfx *g, FontFace face, double size, int bold) {
    if (size < g->fs_min) size = g->fs_min;
    g->face = face, g->size = size, g->bold = bold;
#ifdef GPTSTEP_WEB
    cairo_font_face_t *ff = web_face(face, bold);
    if (ff) cairo_set_font_face(g->cr, ff);
#else
    cairo_select_font_face(g->cr, face == FONT_MONO ? "DejaVu Sans Mono" : "DejaVu Sans",
                           bold & 2 ? CAIRO_FONT_SLANT_OBLIQUE : CAIRO_FONT_SLANT_NORMAL,
                           bold & 1 ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
#endif
    cairo_set_font_size(g->cr, size);
    return size;
}

/* Code points DejaVu has no glyphs for and Droid Sans Fallback has: CJK and Hangul, the CJK symbols,
 * kana and full-width forms. */
static int wide_script(unsigned cp) {
    return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0xF900 && cp <= 0xFAFF) ||
           (cp >= 0xFF00 && cp <= 0xFFEF) || (cp >= 0x20000 && cp <= 0x2FFFF);
}

/* The code point at s (valid UTF-8 or not: a bad byte counts as one), and its length. */
static unsigned cp_at(const char *s, int *len) {
    const unsigned char *u = (const unsigned char *)s;
    int l = utf8_seq_len(u, strlen(s) < 4 ? strlen(s) : 4);
    *len = l ? l : 1;
    if (l <= 1) return u[0];
    if (l == 2) return (unsigned)(u[0] & 0x1F) << 6 | (u[1] & 0x3F);
    if (l == 3) return (unsigned)(u[0] & 0x0F) << 12 | (unsigned)(u[1] & 0x3F) << 6 | (u[2] & 0x3F);
    return (unsigned)(u[0] & 0x07) << 18 | (unsigned)(u[1] & 0x3F) << 12 | (unsigned)(u[2] & 0x3F) << 6 | (u[3] & 0x3F);
}

static int has_wide(const char *s) {
#ifdef GPTSTEP_WEB
    (void)s;
    return 0; /* no CJK fallback in the page */
#endif
    for (const unsigned char *u = (const unsigned char *)s; *u; u++)
        if (*u >= 0xE2) { /* a 3- or 4-byte sequence: look closer */
            int l;
            if (wide_script(cp_at((const char *)u, &l))) return 1;
        }
    return 0;
}

/* Measures (and draws when draw) s run by run, each run in DejaVu or in the CJK fallback. */
static double runs(Gfx *g, const char *s, double x, double y, int draw) {
    double w = 0;
    char run[1024];
    while (*s) {
        int l, wide = wide_script(cp_at(s, &l)), k = 0;
        while (*s && k + 4 < (int)sizeof run) {
            int l2;
            unsigned cp = cp_at(s, &l2);
            if (wide_script(cp) != wide) break;
            memcpy(run + k, s, (size_t)l2), k += l2, s += l2;
        }
        run[k] = 0;
        if (wide)
            cairo_select_font_face(g->cr, "Droid Sans Fallback", CAIRO_FONT_SLANT_NORMAL,
                                   g->bold & 1 ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_text_extents_t e;
        cairo_text_extents(g->cr, run, &e);
        if (draw) {
            cairo_move_to(g->cr, x + w, y);
            cairo_show_text(g->cr, run);
        }
        w += e.x_advance;
        if (wide) gfx_font(g, g->face, g->size, g->bold);
    }
    return w;
}

/* Text that is not UTF-8 (a folder's name, a lesson's line) would put cairo into its error state, and
 * nothing after it in the frame would be drawn: each bad byte is drawn as U+FFFD instead. NULL when s is
 * fine; else a malloc'd copy. */
static char *repaired(const char *s) {
    size_t n = strlen(s);
    if (utf8_valid(s, n, NULL)) return NULL;
    char *o = xmalloc(3 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        int l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (l <= 0) memcpy(o + k, "\xEF\xBF\xBD", 3), k += 3, i++;
        else memcpy(o + k, s + i, (size_t)l), k += (size_t)l, i += (size_t)l;
    }
    o[k] = 0;
    return o;
}

double gfx_text_w(Gfx *g, const char *s) {
    char *fixed = repaired(s);
    if (fixed) {
        double w = gfx_text_w(g, fixed);
        free(fixed);
        return w;
    }
    if (has_wide(s)) return runs(g, s, 0, 0, 0);
    cairo_text_extents_t e;
    cairo_text_extents(g->cr, s, &e);
    return e.x_advance;
}

double gfx_line_h(Gfx *g) {
    cairo_font_extents_t e;
    cairo_font_extents(g->cr, &e);
    return e.ascent + e.descent;
}

double gfx_ascent(Gfx *g) {
    cairo_font_extents_t e;
    cairo_font_extents(g->cr, &e);
    return e.ascent;
}

double gfx_text(Gfx *g, double x, double y, const char *s, double align) {
    char *fixed = repaired(s);
    if (fixed) {
        double w = gfx_text(g, x, y, fixed, align);
        free(fixed);
        return w;
    }
    double w = gfx_text_w(g, s);
    if (has_wide(s)) return runs(g, s, x - w * align, y, 1);
    cairo_move_to(g->cr, x - w * align, y);
    cairo_show_text(g->cr, s);
    return w;
}

double gfx_text_fit(Gfx *g, double x, double y, const char *s, double max_w, double align) {
    if (gfx_text_w(g, s) <= max_w) return gfx_text(g, x, y, s, align);
    static const char ELL[] = "\xE2\x80\xA6";
    size_t n = strlen(s), nb = 0;
    char *buf = xmalloc(n + sizeof ELL);
    size_t *cut = xmalloc(sizeof(size_t) * (n + 1)); /* character boundaries */
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) cut[nb++] = i;
    /* the most characters that fit with the ellipsis (binary search over the boundaries) */
    long lo = -1, hi = (long)nb - 1;
    while (lo < hi) {
        long mid = (lo + hi + 1) / 2;
        memcpy(buf, s, cut[mid]);
        memcpy(buf + cut[mid], ELL, sizeof ELL);
        if (gfx_text_w(g, buf) <= max_w) lo = mid;
        else hi = mid - 1;
    }
    double w = 0;
    if (lo >= 0) {
        memcpy(buf, s, cut[lo]);
        memcpy(buf + cut[lo], ELL, sizeof ELL);
        w = gfx_text(g, x, y, buf, align);
    }
    free(cut);
    free(buf);
    return w;
}

void gfx_text_up(Gfx *g, double x, double y, const char *s, double max_len) {
    cairo_save(g->cr);
    cairo_translate(g->cr, x, y);
    cairo_rotate(g->cr, -M_PI / 2);
    gfx_text_fit(g, 0, 0, s, max_len, 1);
    cairo_restore(g->cr);
}

void gfx_fill(Gfx *g, Rect r, Rgb c) {
    gfx_color(g, c);
    cairo_rectangle(g->cr, r.x, r.y, r.w, r.h);
    cairo_fill(g->cr);
}

void gfx_stroke(Gfx *g, Rect r, Rgb c, double width) {
    gfx_color(g, c);
    cairo_set_line_width(g->cr, width);
    cairo_rectangle(g->cr, r.x, r.y, r.w, r.h);
    cairo_stroke(g->cr);
}

void gfx_panel(Gfx *g, Rect r) {
    gfx_fill(g, r, GFX_PANEL);
    gfx_color(g, GFX_RULE);
    cairo_set_line_width(g->cr, 1);
    cairo_rectangle(g->cr, r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
    cairo_stroke(g->cr);
}

double gfx_title_h(Gfx *g) {
    gfx_font(g, FONT_SANS, g->fs * 1.05, 1);
    return g->fs * 0.5 + gfx_line_h(g) + g->fs * 0.3;
}

double gfx_panel_title(Gfx *g, Rect r, const char *title, const char *note) {
    double pad = g->fs * 0.5;
    gfx_font(g, FONT_SANS, g->fs * 1.05, 1);
    double lh = gfx_line_h(g), base = r.y + pad + gfx_ascent(g);
    double avail = r.w - 2 * pad, used = 0;
    if (note && *note) { /* the note takes the room the title leaves, on the right */
        double tw = gfx_text_w(g, title);
        gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
        double nw = gfx_text_w(g, note), gap = g->fs;
        if (tw + gap + nw <= avail) {
            gfx_color(g, GFX_MUTED);
            gfx_text(g, r.x + r.w - pad, base, note, 1);
            used = nw + gap;
        }
        gfx_font(g, FONT_SANS, g->fs * 1.05, 1);
    }
    gfx_color(g, GFX_INK);
    gfx_text_fit(g, r.x + pad, base, title, avail - used, 0);
    return r.y + pad + lh + pad * 0.6;
}

void gfx_tooltip(Gfx *g, Rect b, double x, double y, const char *s) {
    gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
    double pad = g->fs * 0.4, w = fmin(gfx_text_w(g, s) + 2 * pad, b.w), h = gfx_line_h(g) + 2 * pad;
    double tx = fmax(b.x, fmin(x, b.x + b.w - w)), ty = y - h;
    if (ty < b.y) ty = y + g->fs * 1.2;
    if (ty + h > b.y + b.h) ty = b.y + b.h - h;
    gfx_fill(g, (Rect){tx, ty, w, h}, GFX_INK);
    gfx_color(g, GFX_WHITE);
    gfx_text_fit(g, tx + pad, ty + pad + gfx_ascent(g), s, w - 2 * pad, 0);
}

void gfx_cross(Gfx *g, Rect r) {
    gfx_color(g, GFX_ERROR);
    cairo_set_line_width(g->cr, fmax(1.5, g->fs * 0.12));
    cairo_move_to(g->cr, r.x, r.y), cairo_line_to(g->cr, r.x + r.w, r.y + r.h);
    cairo_move_to(g->cr, r.x + r.w, r.y), cairo_line_to(g->cr, r.x, r.y + r.h);
    cairo_stroke(g->cr);
}

void gfx_hatch(Gfx *g, Rect r) {
    cairo_t *cr = g->cr;
    cairo_save(cr);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_clip(cr);
    gfx_fill(g, r, GFX_MASKED);
    cairo_set_source_rgb(cr, 0.72, 0.72, 0.76);
    cairo_set_line_width(cr, fmax(0.6, g->fs * 0.06));
    double step = fmax(3, g->fs * 0.35);
    for (double t = -r.h; t < r.w; t += step) {
        cairo_move_to(cr, r.x + t, r.y + r.h);
        cairo_line_to(cr, r.x + t + r.h, r.y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* ---- colour maps ---- */

static Rgb ramp(const Rgb *stops, int n, double t) {
    if (!(t > 0)) return stops[0];
    if (t >= 1) return stops[n - 1];
    double x = t * (n - 1);
    int i = (int)x;
    return gfx_mix(stops[i], stops[i + 1], x - i);
}

Rgb gfx_seq(const Gfx *g, double t) {
    static const Rgb warm[] = {{1, 1, 1}, {0.99, 0.85, 0.62}, {0.96, 0.55, 0.24}, {0.80, 0.20, 0.10}, {0.45, 0.02, 0.08}};
    static const Rgb viridis[] = {{0.27, 0.00, 0.33}, {0.23, 0.32, 0.55}, {0.13, 0.57, 0.55}, {0.37, 0.79, 0.38}, {0.99, 0.91, 0.14}};
    return g->colorblind ? ramp(viridis, 5, t) : ramp(warm, 5, t);
}

Rgb gfx_div(const Gfx *g, double t) {
    static const Rgb br[] = {{0.13, 0.40, 0.67}, {0.57, 0.77, 0.87}, {1, 1, 1}, {0.96, 0.65, 0.51}, {0.70, 0.09, 0.17}};
    static const Rgb bo[] = {{0.16, 0.24, 0.58}, {0.55, 0.63, 0.85}, {1, 1, 1}, {0.99, 0.72, 0.39}, {0.70, 0.35, 0.02}};
    return ramp(g->colorblind ? bo : br, 5, (t + 1) / 2);
}

uint32_t gfx_argb(Rgb c, double a) {
    return (uint32_t)(a * 255 + 0.5) << 24 | (uint32_t)(c.r * a * 255 + 0.5) << 16 | (uint32_t)(c.g * a * 255 + 0.5) << 8 |
           (uint32_t)(c.b * a * 255 + 0.5);
}

void gfx_cells(Gfx *g, Rect r, const uint32_t *px, int cols, int rows) {
    if (cols <= 0 || rows <= 0) return;
    cairo_t *cr = g->cr;
    if (g->vector) {
        double cw = r.w / cols, ch = r.h / rows;
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols;) {
                uint32_t c = px[(size_t)y * cols + x];
                int run = 1; /* one rectangle for a run of equal cells */
                while (x + run < cols && px[(size_t)y * cols + x + run] == c) run++;
                double a = (c >> 24) / 255.0;
                if (a > 0) {
                    cairo_set_source_rgba(cr, ((c >> 16) & 255) / 255.0 / a, ((c >> 8) & 255) / 255.0 / a,
                                          (c & 255) / 255.0 / a, a);
                    cairo_rectangle(cr, r.x + x * cw, r.y + y * ch, run * cw, ch);
                    cairo_fill(cr);
                }
                x += run;
            }
        return;
    }
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, cols);
    unsigned char *buf = xmalloc((size_t)stride * rows);
    for (int y = 0; y < rows; y++) memcpy(buf + (size_t)y * stride, px + (size_t)y * cols, (size_t)cols * 4);
    cairo_surface_t *img = cairo_image_surface_create_for_data(buf, CAIRO_FORMAT_ARGB32, cols, rows, stride);
    cairo_save(cr);
    cairo_translate(cr, r.x, r.y);
    cairo_scale(cr, r.w / cols, r.h / rows);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, cols, rows);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    free(buf);
}

void gfx_vector(Gfx *g, Rect r, const float *a, int n) {
    float m = 1e-9f;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    gfx_vector_scaled(g, r, a, n, m);
}

void gfx_vector_scaled(Gfx *g, Rect r, const float *a, int n, float m) {
    m = fmaxf(m, 1e-9f);
    /* a long vector (50,257 logits) in at most 4,096 cells, each showing the value of largest magnitude
     * among those it covers, so that no peak disappears */
    int cells = n > 4096 ? 4096 : n;
    uint32_t *px = xmalloc(sizeof(uint32_t) * (size_t)cells);
    for (int c = 0; c < cells; c++) {
        int i0 = (int)((long)c * n / cells), i1 = (int)((long)(c + 1) * n / cells);
        float x = a[i0];
        for (int i = i0 + 1; i < i1; i++)
            if (fabsf(a[i]) > fabsf(x)) x = a[i];
        px[c] = gfx_argb(gfx_div(g, x / m), 1);
    }
    gfx_cells(g, r, px, cells, 1);
    free(px);
    gfx_stroke(g, r, GFX_RULE, 1);
}

