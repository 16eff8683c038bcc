/* draw.c - every view of the viewer, drawn with cairo from the state and the trace. Nothing here
 * computes model math: values come from the trace; derived numbers (sampler distribution, entropy,
 * softmax normaliser, logit lens) come from the core's functions. */
#define _DEFAULT_SOURCE /* M_PI */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo-svg.h>

#include "ops.h"
#include "viz.h"

#define FONT "DejaVu Sans"
#define MONO "DejaVu Sans Mono"

typedef struct {
    double r, g, b;
} Rgb;

/* Palette (light theme, readable on projectors). */
static const Rgb BG = {0.97, 0.97, 0.96}, PANEL = {1, 1, 1}, INK = {0.12, 0.12, 0.14}, MUTED = {0.45, 0.45, 0.5},
                 RULE = {0.82, 0.82, 0.85}, ACCENT = {0.10, 0.40, 0.85}, CHOSEN = {0.85, 0.33, 0.10},
                 PROMPT = {0.90, 0.93, 0.98}, GENERATED = {0.99, 0.93, 0.86}, HILITE = {1.0, 0.80, 0.0},
                 ERROR = {0.75, 0.10, 0.10};

static void set(cairo_t *cr, Rgb c) { cairo_set_source_rgb(cr, c.r, c.g, c.b); }
static void seta(cairo_t *cr, Rgb c, double a) { cairo_set_source_rgba(cr, c.r, c.g, c.b, a); }

/* ---- colour maps ---- */

static Rgb lerp(Rgb a, Rgb b, double t) { return (Rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t}; }

static Rgb ramp(const Rgb *stops, int n, double t) {
    if (!(t > 0)) return stops[0];
    if (t >= 1) return stops[n - 1];
    double x = t * (n - 1);
    int i = (int)x;
    return lerp(stops[i], stops[i + 1], x - i);
}

/* Sequential 0..1: white to deep red by default; viridis (colour-blind safe) in colour-blind mode. */
static Rgb seq_color(const VizState *v, double t) {
    static const Rgb warm[] = {{1, 1, 1}, {0.99, 0.85, 0.62}, {0.96, 0.55, 0.24}, {0.80, 0.20, 0.10}, {0.45, 0.02, 0.08}};
    static const Rgb viridis[] = {{0.27, 0.00, 0.33}, {0.23, 0.32, 0.55}, {0.13, 0.57, 0.55}, {0.37, 0.79, 0.38}, {0.99, 0.91, 0.14}};
    return v->colorblind ? ramp(viridis, 5, t) : ramp(warm, 5, t);
}

/* Diverging -1..1: blue-white-red by default; blue-white-orange in colour-blind mode. */
static Rgb div_color(const VizState *v, double t) {
    static const Rgb br[] = {{0.13, 0.40, 0.67}, {0.57, 0.77, 0.87}, {1, 1, 1}, {0.96, 0.65, 0.51}, {0.70, 0.09, 0.17}};
    static const Rgb bo[] = {{0.16, 0.24, 0.58}, {0.55, 0.63, 0.85}, {1, 1, 1}, {0.99, 0.72, 0.39}, {0.70, 0.35, 0.02}};
    return ramp(v->colorblind ? bo : br, 5, (t + 1) / 2);
}

/* ---- text ---- */

static double unit(const VizState *v, double w, double h) {
    double u = fmin(w / 100.0, h / 56.0);
    if (u < 9) u = 9;
    return v->large ? u * 1.5 : u;
}

static void font(cairo_t *cr, const char *face, double size, int bold) {
    cairo_select_font_face(cr, face, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *s) {
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    return e.x_advance;
}

/* Draws s with its baseline at y; align 0 left, 0.5 centre, 1 right. Returns the width. */
static double text(cairo_t *cr, double x, double y, const char *s, double align) {
    double w = text_w(cr, s);
    cairo_move_to(cr, x - w * align, y);
    cairo_show_text(cr, s);
    return w;
}

/* Text cut with an ellipsis to fit max_w. */
static void text_fit(cairo_t *cr, double x, double y, const char *s, double max_w, double align) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    while (strlen(buf) > 1 && text_w(cr, buf) > max_w) {
        size_t n = strlen(buf) - 1;
        while (n > 0 && ((unsigned char)buf[n] & 0xC0) == 0x80) n--; /* whole UTF-8 characters */
        buf[n] = 0;
        if (n > 1) {
            while (n > 0 && ((unsigned char)buf[n - 1] & 0xC0) == 0x80) n--;
            snprintf(buf + (n > 1 ? n - 1 : n), sizeof buf - n, "\xE2\x80\xA6");
        }
    }
    text(cr, x, y, buf, align);
}

/* A token's text for display: spaces as a visible mark, newlines as a return arrow. */
static void piece_label(const VizState *v, int id, char *out, size_t cap) {
    int len;
    const char *b = tok_bytes(v->gen.tok, id, &len);
    size_t k = 0;
    for (int i = 0; i < len && k + 8 < cap;) {
        unsigned char c = (unsigned char)b[i];
        int l = utf8_seq_len((const unsigned char *)b + i, (size_t)(len - i));
        if (c == ' ') { memcpy(out + k, "\xE2\x90\xA3", 3); k += 3; i++; }          /* ␣ */
        else if (c == '\n') { memcpy(out + k, "\xE2\x86\xB5", 3); k += 3; i++; }   /* ↵ */
        else if (c == '\t') { memcpy(out + k, "\xE2\x87\xA5", 3); k += 3; i++; }   /* ⇥ */
        else if (c < 0x20 || l == 0) { k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c); i++; }
        else { memcpy(out + k, b + i, (size_t)l); k += (size_t)l; i += l; }
    }
    out[k] = 0;
    if (k == 0) snprintf(out, cap, "\xE2\x88\x85"); /* ∅ */
}

/* Paints a rows x cols grid of colours as one image scaled to (w, h), without smoothing: thousands of
 * cells cost one image instead of thousands of rectangles. */
static void paint_cells(cairo_t *cr, double x, double y, double w, double h, const uint32_t *argb, int cols, int rows) {
    int stride = cairo_format_stride_for_width(CAIRO_FORMAT_ARGB32, cols);
    unsigned char *buf = malloc((size_t)stride * rows);
    for (int r = 0; r < rows; r++) memcpy(buf + (size_t)r * stride, argb + (size_t)r * cols, (size_t)cols * 4);
    cairo_surface_t *img = cairo_image_surface_create_for_data(buf, CAIRO_FORMAT_ARGB32, cols, rows, stride);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, w / cols, h / rows);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, cols, rows);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    free(buf);
}

static uint32_t argb(Rgb c) {
    return 0xFF000000u | (uint32_t)(c.r * 255 + 0.5) << 16 | (uint32_t)(c.g * 255 + 0.5) << 8 | (uint32_t)(c.b * 255 + 0.5);
}

static void add_hit(VizState *v, HitKind kind, double x, double y, double w, double h, int a, int b) {
    if (v->n_hits >= VIZ_MAX_HITS) return;
    v->hits[v->n_hits++] = (Hit){kind, {x, y, w, h}, a, b, 0};
}

static int hovered(const VizState *v, HitKind kind, int a, int b) {
    if (v->hover < 0 || v->hover >= v->n_hits) return 0;
    const Hit *h = &v->hits[v->hover];
    return h->kind == kind && h->a == a && h->b == b;
}

static void panel(cairo_t *cr, Rect r, double u, const char *title) {
    set(cr, PANEL);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
    set(cr, RULE);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, r.x + 0.5, r.y + 0.5, r.w - 1, r.h - 1);
    cairo_stroke(cr);
    if (title) {
        set(cr, INK);
        font(cr, FONT, u * 1.05, 1);
        text_fit(cr, r.x + u * 0.7, r.y + u * 1.5, title, r.w - u * 1.4, 0);
    }
}

static const float *tensor(const VizState *v, TensorKind k, int layer, int pos) {
    return trace_get(&v->gen.trace, trace_id(&v->gen.trace, k, layer), pos);
}

/* ---- header and token strip ---- */

static void draw_header(VizState *v, cairo_t *cr, Rect r, double u) {
    set(cr, INK);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
    const Gpt2Config *c = &v->gen.model.cfg;
    const SamplerSettings *s = &v->gen.sampler;
    char buf[600];
    if (v->loaded)
        snprintf(buf, sizeof buf, "gptstep \xE2\x80\x94 %s (%d layers \xC3\x97 %d heads)%s%s", v->gen.model.name, c->n_layer,
                 c->n_head, v->title[0] ? " \xE2\x80\x94 " : "", v->title);
    else
        snprintf(buf, sizeof buf, "gptstep%s%s", v->title[0] ? " \xE2\x80\x94 " : "", v->title);
    cairo_set_source_rgb(cr, 1, 1, 1);
    font(cr, FONT, u * 1.15, 1);
    text_fit(cr, r.x + u, r.y + r.h * 0.66, buf, r.w * 0.55, 0);
    if (s->greedy == 1) snprintf(buf, sizeof buf, "greedy \xC2\xB7 seed %llu", (unsigned long long)s->seed);
    else
        snprintf(buf, sizeof buf, "seed %llu \xC2\xB7 temperature %.2f \xC2\xB7 top-k %s%d \xC2\xB7 top-p %.2f",
                 (unsigned long long)s->seed, s->temperature, s->top_k ? "" : "off ", s->top_k, s->top_p);
    if (v->progress[0]) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "   %s", v->progress);
    font(cr, FONT, u * 0.95, 0);
    cairo_set_source_rgb(cr, 0.85, 0.88, 0.95);
    text(cr, r.x + r.w - u * 3, r.y + r.h * 0.66, buf, 1);
    font(cr, FONT, u * 0.95, 1);
    text(cr, r.x + r.w - u, r.y + r.h * 0.66, "[?]", 1);
}

static void draw_tokens(VizState *v, cairo_t *cr, Rect r, double u) {
    panel(cr, r, u, NULL);
    if (!v->loaded) return;
    const Trace *tr = &v->gen.trace;
    int n = viz_n_shown(v), q = viz_query_pos(v), prompt_len = tr->n_steps ? tr->steps[0].n_pos : 0;
    int chosen = tr->n_steps ? tr->steps[v->step].chosen : -1;
    font(cr, MONO, u * 0.95, 0);
    double pad = u * 0.45, h = u * 1.9, gap = u * 0.3, x0 = r.x + u * 0.6, x = x0, y = r.y + u * 0.5;
    double maxx = r.x + r.w - u * 0.6;
    /* Lay out the rows first, then scroll so the query position's row is visible. */
    double *xs = malloc(sizeof(double) * (size_t)(n + 1)), *ys = malloc(sizeof(double) * (size_t)(n + 1));
    double *ws = malloc(sizeof(double) * (size_t)(n + 1));
    char label[256];
    for (int p = 0; p <= n; p++) {
        int id = p < n ? tr->pos[p].token : chosen;
        if (p == n && id < 0) break;
        piece_label(v, id, label, sizeof label);
        double w = fmin(text_w(cr, label) + 2 * pad, r.w * 0.5) + (p == n ? u * 1.2 : 0);
        if (x + w > maxx && x > x0) {
            x = x0;
            y += h + gap;
        }
        xs[p] = x, ys[p] = y, ws[p] = w;
        x += w + gap;
    }
    int rows_fit = (int)((r.h - u * 0.5) / (h + gap));
    double qrow_y = ys[q < n ? q : 0];
    double scroll = 0;
    if (rows_fit > 0 && qrow_y + h > r.y + u * 0.5 + rows_fit * (h + gap)) scroll = qrow_y - (r.y + u * 0.5) - (rows_fit - 1) * (h + gap);
    cairo_save(cr);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_clip(cr);
    for (int p = 0; p <= n; p++) {
        int id = p < n ? tr->pos[p].token : chosen;
        if (p == n && id < 0) break;
        double px = xs[p], py = ys[p] - scroll, w = ws[p];
        if (py + h < r.y || py > r.y + r.h) continue;
        int hl = 0;
        for (int i = 0; i < v->n_hl_tokens; i++) hl |= v->hl_tokens[i] == p;
        Rgb fill = p == n ? (Rgb){1, 1, 1} : p < prompt_len ? PROMPT : GENERATED;
        set(cr, fill);
        cairo_rectangle(cr, px, py, w, h);
        cairo_fill(cr);
        if (hl) {
            set(cr, HILITE);
            cairo_set_line_width(cr, u * 0.35);
            cairo_rectangle(cr, px, py, w, h);
            cairo_stroke(cr);
        }
        set(cr, p == q ? ACCENT : p == n ? CHOSEN : RULE);
        cairo_set_line_width(cr, p == q || p == n ? u * 0.18 : 1);
        if (p == n) {
            double dash[] = {u * 0.4, u * 0.25};
            cairo_set_dash(cr, dash, 2, 0);
        }
        cairo_rectangle(cr, px, py, w, h);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        piece_label(v, id, label, sizeof label);
        set(cr, p == n ? CHOSEN : INK);
        if (p == n) {
            font(cr, FONT, u * 0.9, 1);
            text(cr, px + pad * 0.6, py + h * 0.68, "\xE2\x86\x92", 0);
            font(cr, MONO, u * 0.95, 0);
        }
        text_fit(cr, px + (p == n ? u * 1.2 : 0) + pad, py + h * 0.68, label, w - 2 * pad - (p == n ? u * 1.2 : 0) + 2, 0);
        add_hit(v, p < n ? HIT_TOKEN : HIT_NONE, px, py, w, h, p, id);
        if (p < n && hovered(v, HIT_TOKEN, p, id)) { /* id and position on hover */
            char tip[64];
            snprintf(tip, sizeof tip, "pos %d \xC2\xB7 id %d", p, id);
            font(cr, FONT, u * 0.8, 0);
            double tw = text_w(cr, tip) + u;
            set(cr, INK);
            cairo_rectangle(cr, px, py + h - u * 0.1, tw, u * 1.4);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            text(cr, px + u * 0.5, py + h + u * 0.95, tip, 0);
            font(cr, MONO, u * 0.95, 0);
        }
    }
    cairo_restore(cr);
    free(xs);
    free(ys);
    free(ws);
}

/* The tokens view on its own: the chips, then a table of position, piece, id and bytes. */
static void draw_token_table(VizState *v, cairo_t *cr, Rect r, double u) {
    Rect chips = {r.x, r.y, r.w, u * 5.2};
    draw_tokens(v, cr, chips, u);
    Rect t = {r.x, r.y + chips.h + u * 0.4, r.w, r.h - chips.h - u * 0.4};
    panel(cr, t, u, "Tokens: position, piece, id and the bytes the piece stands for");
    const Trace *tr = &v->gen.trace;
    int n = viz_n_shown(v), q = viz_query_pos(v), prompt_len = tr->n_steps ? tr->steps[0].n_pos : 0;
    double row = u * 1.35, y0 = t.y + u * 4.2;
    int rows_fit = (int)((t.h - u * 3.6) / row);
    int cols = rows_fit > 0 ? (n + rows_fit - 1) / rows_fit : 1;
    if (cols < 1) cols = 1;
    double cw = t.w / (cols > 3 ? 3 : cols);
    char label[256], hex[256];
    for (int p = 0; p < n; p++) {
        int c = rows_fit > 0 ? p / rows_fit : 0;
        if (c >= 3) break;
        double x = t.x + u * 0.7 + c * cw, y = y0 + (p - c * rows_fit) * row;
        if (p - c * rows_fit == 0) {
            font(cr, FONT, u * 0.75, 1);
            set(cr, MUTED);
            text(cr, x, y0 - row * 0.9, "pos", 0);
            text(cr, x + u * 2.5, y0 - row * 0.9, "piece", 0);
            text(cr, x + cw * 0.42, y0 - row * 0.9, "id", 0);
            text(cr, x + cw * 0.55, y0 - row * 0.9, "bytes (hex)", 0);
        }
        int hl = p == q;
        for (int i = 0; i < v->n_hl_tokens; i++) hl |= v->hl_tokens[i] == p;
        if (hl) {
            seta(cr, p == q ? ACCENT : HILITE, p == q ? 0.12 : 0.35);
            cairo_rectangle(cr, x - u * 0.3, y - row * 0.75, cw - u * 0.8, row);
            cairo_fill(cr);
        }
        int id = tr->pos[p].token, len;
        const char *b = tok_bytes(v->gen.tok, id, &len);
        piece_label(v, id, label, sizeof label);
        size_t k = 0;
        for (int j = 0; j < len && k + 4 < sizeof hex; j++) k += (size_t)snprintf(hex + k, sizeof hex - k, "%s%02x", j ? " " : "", (unsigned char)b[j]);
        hex[k] = 0;
        char num[32];
        font(cr, FONT, u * 0.8, 0);
        set(cr, p < prompt_len ? MUTED : CHOSEN);
        snprintf(num, sizeof num, "%d", p);
        text(cr, x, y, num, 0);
        set(cr, INK);
        font(cr, MONO, u * 0.9, 0);
        text_fit(cr, x + u * 2.5, y, label, cw * 0.42 - u * 2.8, 0);
        snprintf(num, sizeof num, "%d", id);
        text(cr, x + cw * 0.42, y, num, 0);
        set(cr, MUTED);
        font(cr, MONO, u * 0.75, 0);
        text_fit(cr, x + cw * 0.55, y, hex, cw * 0.43 - u, 0);
        add_hit(v, HIT_TOKEN, x, y - row * 0.75, cw - u, row, p, id);
    }
}

/* ---- attention heatmap ---- */

/* The value shown for (query, key) in the current mode; returns 0 when the key is masked/absent. */
static int att_value(const VizState *v, int layer, int head, int q, int k, float *out) {
    TensorKind kind = v->att == ATT_SCORES ? TK_SCORES : v->att == ATT_MASKED ? TK_MASKED : TK_WEIGHTS;
    const float *row = tensor(v, kind, layer, q);
    if (!row) return 0;
    int K = v->gen.trace.pos[q].n_keys;
    if (k >= K) return 0; /* the key did not exist yet when this position ran */
    float x = row[(size_t)head * K + k];
    *out = x;
    if (k > q) return v->att == ATT_SCORES ? 2 : 0; /* future key: raw score exists, but it is masked */
    return 1;
}

static void hatch(cairo_t *cr, double x, double y, double w, double h, double u) {
    cairo_save(cr);
    cairo_rectangle(cr, x, y, w, h);
    cairo_clip(cr);
    cairo_set_source_rgb(cr, 0.93, 0.93, 0.94);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0.72, 0.72, 0.76);
    cairo_set_line_width(cr, fmax(0.6, u * 0.08));
    double step = fmax(3, u * 0.45);
    for (double t = -h; t < w; t += step) {
        cairo_move_to(cr, x + t, y + h);
        cairo_line_to(cr, x + t + h, y);
    }
    cairo_stroke(cr);
    cairo_restore(cr);
}

/* Largest |value| over the shown (unmasked) cells, for the colour scale of scores. */
static float att_scale(const VizState *v, int layer, int head, int n) {
    float m = 1e-6f;
    for (int q = 0; q < n; q++)
        for (int k = 0; k < n; k++) {
            float x;
            int s = att_value(v, layer, head, q, k, &x);
            if (s && isfinite(x) && fabsf(x) > m) m = fabsf(x);
        }
    return m;
}

static Rgb att_color(const VizState *v, float x, float scale) {
    return v->att == ATT_WEIGHTS ? seq_color(v, x) : div_color(v, x / scale);
}

static void draw_cell_detail(VizState *v, cairo_t *cr, Rect r, double u, int q, int k);

static void draw_heatmap(VizState *v, cairo_t *cr, Rect r, double u) {
    static const char *MODE[3] = {"raw scores q\xC2\xB7k/\xE2\x88\x9A" "d", "masked scores", "weights (softmax)"};
    char title[256];
    snprintf(title, sizeof title, "Attention \xE2\x80\x94 layer %d \xC2\xB7 head %d \xC2\xB7 %s", v->layer, v->head, MODE[v->att]);
    panel(cr, r, u, title);
    if (!v->loaded) return;
    int n = viz_n_shown(v), qsel = viz_query_pos(v);
    font(cr, FONT, u * 0.75, 0);
    set(cr, MUTED);
    text(cr, r.x + r.w - u * 0.7, r.y + u * 1.5, "A: scores/masked/weights \xC2\xB7 G: all heads", 1);
    double detail_h = v->key >= 0 ? u * 9.5 : 0;
    double label_w = u * 6.5, legend_w = u * 4.5;
    double top = r.y + u * 2.4, avail_h = r.h - (top - r.y) - label_w * 0.9 - detail_h - u * 0.5;
    double avail_w = r.w - label_w - legend_w - u;
    double cell = fmin(avail_w / n, avail_h / n);
    if (cell > u * 5) cell = u * 5;
    double gx = r.x + label_w, gy = top;
    float scale = att_scale(v, v->layer, v->head, n);
    /* The masked region (keys after the query: k > q) is hatched once, as one staircase path. */
    cairo_save(cr);
    for (int q = 0; q + 1 < n; q++) cairo_rectangle(cr, gx + (q + 1) * cell, gy + q * cell, (n - q - 1) * cell, cell);
    cairo_clip(cr);
    hatch(cr, gx, gy, n * cell, n * cell, u);
    cairo_restore(cr);
    /* The cells as one image: kept cells in the colour map; in the raw-scores view, the scores the mask
     * will remove are shown half transparent over the hatching. */
    uint32_t *px = calloc((size_t)n * n, sizeof(uint32_t));
    for (int q = 0; q < n; q++)
        for (int k = 0; k < n; k++) {
            float val;
            int st = att_value(v, v->layer, v->head, q, k, &val);
            if (st == 1 && isfinite(val)) {
                px[(size_t)q * n + k] = argb(att_color(v, val, scale));
            } else if (st == 2 && isfinite(val)) {
                Rgb c = att_color(v, val, scale);
                double a = 0.5; /* premultiplied alpha */
                px[(size_t)q * n + k] = (uint32_t)(a * 255) << 24 | (uint32_t)(c.r * a * 255) << 16 |
                                        (uint32_t)(c.g * a * 255) << 8 | (uint32_t)(c.b * a * 255);
            }
        }
    paint_cells(cr, gx, gy, n * cell, n * cell, px, n, n);
    free(px);
    if (v->n_hits < VIZ_MAX_HITS) v->hits[v->n_hits++] = (Hit){HIT_CELL, {gx, gy, n * cell, n * cell}, n, n, 0};
    /* the selected query row, highlighted cells, the selected cell */
    set(cr, ACCENT);
    cairo_set_line_width(cr, fmax(1.5, u * 0.15));
    cairo_rectangle(cr, gx, gy + qsel * cell, n * cell, cell);
    cairo_stroke(cr);
    for (int i = 0; i < v->n_hl_cells; i++) {
        set(cr, HILITE);
        cairo_set_line_width(cr, fmax(2, u * 0.25));
        cairo_rectangle(cr, gx + v->hl_cells[i][1] * cell, gy + v->hl_cells[i][0] * cell, cell, cell);
        cairo_stroke(cr);
    }
    if (v->key >= 0) {
        set(cr, INK);
        cairo_set_line_width(cr, fmax(2, u * 0.22));
        cairo_rectangle(cr, gx + v->key * cell, gy + qsel * cell, cell, cell);
        cairo_stroke(cr);
    }
    /* axis labels: keys along the bottom (rotated), queries on the left */
    int every = cell >= u * 0.9 ? 1 : (int)ceil(u * 0.9 / cell);
    font(cr, MONO, fmin(u * 0.85, fmax(cell * 0.8, u * 0.6)), 0);
    char label[256];
    for (int p = 0; p < n; p += every) {
        piece_label(v, v->gen.trace.pos[p].token, label, sizeof label);
        set(cr, p == qsel ? ACCENT : INK);
        text_fit(cr, gx - u * 0.3, gy + p * cell + cell * 0.5 + u * 0.3, label, label_w - u * 0.6, 1);
        cairo_save(cr);
        cairo_translate(cr, gx + p * cell + cell * 0.5 + u * 0.3, gy + n * cell + u * 0.3);
        cairo_rotate(cr, -M_PI / 2);
        text_fit(cr, 0, 0, label, label_w * 0.85, 1);
        cairo_restore(cr);
    }
    font(cr, FONT, u * 0.75, 0);
    set(cr, MUTED);
    text(cr, gx - u * 0.3, gy + n * cell + u * 1.2, "query \xE2\x86\x93  key \xE2\x86\x92", 1);
    /* legend: colour bar with its range, and the masked pattern */
    double lx = gx + n * cell + u * 1.2, ly = gy, lh = fmin(n * cell, u * 12);
    for (int i = 0; i < 64; i++) {
        double t = 1 - i / 63.0;
        Rgb col = v->att == ATT_WEIGHTS ? seq_color(v, t) : div_color(v, 2 * t - 1);
        set(cr, col);
        cairo_rectangle(cr, lx, ly + lh * i / 64.0, u * 0.9, lh / 64.0 + 0.5);
        cairo_fill(cr);
    }
    set(cr, INK);
    font(cr, FONT, u * 0.7, 0);
    char lo[32], hi[32];
    if (v->att == ATT_WEIGHTS) snprintf(hi, sizeof hi, "1"), snprintf(lo, sizeof lo, "0");
    else snprintf(hi, sizeof hi, "+%.2f", scale), snprintf(lo, sizeof lo, "\xE2\x88\x92%.2f", scale);
    text(cr, lx + u * 1.2, ly + u * 0.6, hi, 0);
    text(cr, lx + u * 1.2, ly + lh, lo, 0);
    hatch(cr, lx, ly + lh + u * 0.8, u * 0.9, u * 0.9, u);
    set(cr, INK);
    text(cr, lx + u * 1.2, ly + lh + u * 1.5, "masked", 0);
    /* hover: exact numbers */
    if (v->hover >= 0 && v->hover < v->n_hits && v->hits[v->hover].kind == HIT_CELL) {
        const Hit *grid = &v->hits[v->hover];
        int hq = (int)((v->mouse_y - grid->r.y) / cell), hk = (int)((v->mouse_x - grid->r.x) / cell);
        if (hq < 0) hq = 0;
        if (hq >= n) hq = n - 1;
        if (hk < 0) hk = 0;
        if (hk >= n) hk = n - 1;
        Hit cellhit = {HIT_CELL, {gx + hk * cell, gy + hq * cell, cell, cell}, hq, hk, 0};
        const Hit *h = &cellhit;
        float sc = 0, mk = 0, wt = 0;
        const float *rs = tensor(v, TK_SCORES, v->layer, h->a), *rm = tensor(v, TK_MASKED, v->layer, h->a),
                    *rw = tensor(v, TK_WEIGHTS, v->layer, h->a);
        int K = v->gen.trace.pos[h->a].n_keys;
        char tip[200];
        if (rs && h->b < K) {
            sc = rs[v->head * K + h->b], mk = rm[v->head * K + h->b], wt = rw[v->head * K + h->b];
            snprintf(tip, sizeof tip, "q %d \xE2\x86\x92 k %d   score %.4f   masked %s   weight %.4f", h->a, h->b, sc,
                     isinf(mk) ? "\xE2\x88\x92\xE2\x88\x9E" : "kept", wt);
        } else {
            snprintf(tip, sizeof tip, "q %d \xE2\x86\x92 k %d   (key after the query: masked)", h->a, h->b);
        }
        font(cr, MONO, u * 0.8, 0);
        double tw = text_w(cr, tip) + u;
        double tx = fmin(h->r.x + h->r.w, r.x + r.w - tw), ty = h->r.y - u * 1.6;
        if (ty < r.y) ty = h->r.y + h->r.h;
        set(cr, INK);
        cairo_rectangle(cr, tx, ty, tw, u * 1.5);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        text(cr, tx + u * 0.5, ty + u * 1.05, tip, 0);
    }
    if (v->key >= 0) draw_cell_detail(v, cr, (Rect){r.x + u * 0.5, r.y + r.h - detail_h, r.w - u, detail_h - u * 0.4}, u, qsel, v->key);
}

/* A strip of coloured cells for a vector, with a symmetric scale. */
static void vec_strip(const VizState *v, cairo_t *cr, double x, double y, double w, double h, const float *a, int n) {
    float m = 1e-9f;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    uint32_t *px = malloc(sizeof(uint32_t) * (size_t)n);
    for (int i = 0; i < n; i++) px[i] = argb(div_color(v, a[i] / m));
    paint_cells(cr, x, y, w, h, px, n, 1);
    free(px);
    set(cr, RULE);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x, y, w, h);
    cairo_stroke(cr);
}

/* Where one attention weight comes from: q, k, their dot product, /sqrt(d), the mask, the softmax. */
static void draw_cell_detail(VizState *v, cairo_t *cr, Rect r, double u, int q, int k) {
    set(cr, (Rgb){0.95, 0.96, 0.99});
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
    const Gpt2Config *c = &v->gen.model.cfg;
    int HS = c->n_embd / c->n_head, K = v->gen.trace.pos[q].n_keys;
    const float *qv = tensor(v, TK_Q, v->layer, q), *kv = tensor(v, TK_K, v->layer, k);
    const float *sc = tensor(v, TK_SCORES, v->layer, q), *mk = tensor(v, TK_MASKED, v->layer, q),
                *wt = tensor(v, TK_WEIGHTS, v->layer, q);
    if (!qv || !kv || !sc || k >= K) return;
    char a[64], b[64], line[400];
    piece_label(v, v->gen.trace.pos[q].token, a, sizeof a);
    piece_label(v, v->gen.trace.pos[k].token, b, sizeof b);
    double x = r.x + u * 0.6, y = r.y + u * 1.4, lw = u * 8;
    set(cr, INK);
    font(cr, FONT, u * 0.9, 1);
    snprintf(line, sizeof line, "How query %d \"%s\" attends to key %d \"%s\" (layer %d, head %d)", q, a, k, b, v->layer, v->head);
    text_fit(cr, x, y, line, r.w - u, 0);
    font(cr, MONO, u * 0.8, 0);
    y += u * 1.3;
    text(cr, x, y + u * 0.8, "q (query)", 0);
    vec_strip(v, cr, x + lw, y, r.w - lw - u * 1.5, u * 1.1, qv + (size_t)v->head * HS, HS);
    y += u * 1.5;
    set(cr, INK);
    text(cr, x, y + u * 0.8, "k (key)", 0);
    vec_strip(v, cr, x + lw, y, r.w - lw - u * 1.5, u * 1.1, kv + (size_t)v->head * HS, HS);
    y += u * 2.3;
    float s = sc[(size_t)v->head * K + k], m = mk[(size_t)v->head * K + k], w = wt[(size_t)v->head * K + k];
    float mx;
    double z;
    softmax_parts(mk + (size_t)v->head * K, K, &mx, &z);
    double sq = sqrt((double)HS);
    set(cr, INK);
    snprintf(line, sizeof line, "q\xC2\xB7k = %.4f    \xC3\xB7 \xE2\x88\x9A%d = %.0f    score = %.4f    mask: %s", s * sq, HS, sq, s,
             k > q ? "key after the query \xE2\x86\x92 \xE2\x88\x92\xE2\x88\x9E" : "kept (key at or before the query)");
    text_fit(cr, x, y, line, r.w - u, 0);
    y += u * 1.4;
    if (isinf(m))
        snprintf(line, sizeof line, "weight = exp(\xE2\x88\x92\xE2\x88\x9E) / Z = 0        (Z = \xCE\xA3 exp(score\xE2\x88\x92max) = %.4f, max = %.4f)", z, mx);
    else
        snprintf(line, sizeof line, "weight = exp(%.4f \xE2\x88\x92 %.4f) / Z = %.4f / %.4f = %.4f", m, mx, exp((double)m - mx), z, w);
    text_fit(cr, x, y, line, r.w - u, 0);
}

/* ---- all heads at once ---- */

static void draw_grid(VizState *v, cairo_t *cr, Rect r, double u) {
    char title[128];
    snprintf(title, sizeof title, "All heads \xE2\x80\x94 attention weights, layers \xC3\x97 heads (click one to open it)");
    panel(cr, r, u, title);
    if (!v->loaded) return;
    const Gpt2Config *c = &v->gen.model.cfg;
    int n = viz_n_shown(v), L = c->n_layer, NH = c->n_head;
    double top = r.y + u * 2.4, left = r.x + u * 3.2;
    double cw = (r.w - (left - r.x) - u * 0.6) / NH, ch = (r.h - (top - r.y) - u * 0.6) / L;
    double side = fmin(cw, ch), gap = fmax(1, side * 0.08);
    font(cr, FONT, fmin(u * 0.8, fmax(side * 0.3, 7)), 0);
    for (int l = 0; l < L; l++) {
        set(cr, l == v->layer ? ACCENT : MUTED);
        char lab[16];
        snprintf(lab, sizeof lab, "L%d", l);
        text(cr, left - u * 0.4, top + l * side + side * 0.6, lab, 1);
        for (int h = 0; h < NH; h++) {
            double x = left + h * side, y = top + l * side, inner = side - gap;
            uint32_t *px = malloc(sizeof(uint32_t) * (size_t)n * n);
            uint32_t masked = argb((Rgb){0.93, 0.93, 0.94});
            for (int q = 0; q < n; q++) {
                const float *row = tensor(v, TK_WEIGHTS, l, q);
                int K = v->gen.trace.pos[q].n_keys;
                for (int k = 0; k < n; k++)
                    px[(size_t)q * n + k] = row && k <= q && k < K ? argb(seq_color(v, row[(size_t)h * K + k])) : masked;
            }
            paint_cells(cr, x, y, inner, inner, px, n, n);
            free(px);
            if (l == v->layer && h == v->head) {
                set(cr, ACCENT);
                cairo_set_line_width(cr, fmax(1.5, u * 0.15));
                cairo_rectangle(cr, x - 1, y - 1, inner + 2, inner + 2);
                cairo_stroke(cr);
            }
            add_hit(v, HIT_GRID, x, y, inner, inner, l, h);
        }
    }
    for (int h = 0; h < NH; h++) {
        char lab[16];
        snprintf(lab, sizeof lab, "%d", h);
        set(cr, h == v->head ? ACCENT : MUTED);
        text(cr, left + h * side + side * 0.45, top - u * 0.3, lab, 0.5);
    }
}

/* ---- next-token distribution ---- */

static void draw_distribution(VizState *v, cairo_t *cr, Rect r, double u) {
    if (!v->loaded) {
        panel(cr, r, u, "Next token");
        return;
    }
    const Trace *tr = &v->gen.trace;
    int last = viz_n_shown(v) - 1, q = viz_query_pos(v), V = v->gen.model.cfg.n_vocab;
    int pos = tensor(v, TK_PROBS, 0, q) ? q : last; /* prompt positions have their own predictions */
    const float *probs = tensor(v, TK_PROBS, 0, pos), *logits = tensor(v, TK_LOGITS, 0, pos);
    char label[256], title[400];
    piece_label(v, tr->pos[pos].token, label, sizeof label);
    snprintf(title, sizeof title, "Next token after \"%s\" (position %d)", label, pos);
    panel(cr, r, u, title);
    if (!probs || !logits) return;
    int chosen = pos == last ? tr->steps[v->step].chosen : (pos + 1 < tr->n_pos ? tr->pos[pos + 1].token : -1);
    /* the sorted distribution and the sampler's version of it, from the core, kept between frames */
    DistCache *dc = &v->dist;
    if (dc->epoch != v->epoch || dc->pos != pos || memcmp(&dc->s, &v->gen.sampler, sizeof dc->s) != 0) {
        if (!dc->order) {
            dc->order = malloc(sizeof(int) * (size_t)V);
            dc->samp = malloc(sizeof(float) * (size_t)V);
        }
        dc->kept = sampler_distribution(logits, V, &v->gen.sampler, dc->samp);
        dist_sort(probs, V, dc->order);
        dc->entropy = dist_entropy(probs, V);
        dc->epoch = v->epoch, dc->pos = pos, dc->s = v->gen.sampler;
    }
    const float *samp = dc->samp;
    const int *order = dc->order, kept = dc->kept;
    double H = dc->entropy;
    int nb = v->top_k_bars;
    double top = r.y + u * 2.6, row = fmin(u * 1.7, (r.h * 0.58) / (nb + 1));
    double name_w = r.w * 0.26, bar_x = r.x + u * 4.2 + name_w, bar_w = r.w - (bar_x - r.x) - u * 8.5;
    font(cr, FONT, u * 0.72, 0);
    set(cr, MUTED);
    text(cr, r.x + u * 0.7, top, "rank", 0);
    text(cr, r.x + u * 3.2, top, "token", 0);
    text(cr, bar_x, top, "model probability (bar) \xC2\xB7 after sampling settings (outline)", 0);
    for (int i = 0; i < nb && i < V; i++) {
        int id = order[i];
        double y = top + u * 0.5 + i * row;
        int hl = 0;
        for (int j = 0; j < v->n_hl_cands; j++) hl |= v->hl_cands[j] == id;
        if (hl || hovered(v, HIT_CANDIDATE, id, 0)) {
            seta(cr, hl ? HILITE : ACCENT, hl ? 0.35 : 0.12);
            cairo_rectangle(cr, r.x + u * 0.3, y, r.w - u * 0.6, row);
            cairo_fill(cr);
        }
        char rank[16];
        snprintf(rank, sizeof rank, "%d", i + 1);
        set(cr, MUTED);
        font(cr, FONT, u * 0.8, 0);
        text(cr, r.x + u * 2.2, y + row * 0.7, rank, 1);
        piece_label(v, id, label, sizeof label);
        set(cr, samp[id] > 0 ? INK : MUTED);
        font(cr, MONO, u * 0.9, id == chosen);
        text_fit(cr, r.x + u * 3.2, y + row * 0.7, label, name_w, 0);
        double bw = bar_w * probs[id];
        set(cr, id == chosen ? CHOSEN : samp[id] > 0 ? ACCENT : (Rgb){0.75, 0.75, 0.78});
        cairo_rectangle(cr, bar_x, y + row * 0.15, fmax(bw, 1), row * 0.7);
        cairo_fill(cr);
        set(cr, INK);
        cairo_set_line_width(cr, fmax(1, u * 0.1));
        if (samp[id] > 0) {
            cairo_rectangle(cr, bar_x, y + row * 0.15, fmax(bar_w * samp[id], 1), row * 0.7);
            cairo_stroke(cr);
        }
        char pct[64];
        if (samp[id] > 0) snprintf(pct, sizeof pct, "%.1f%% \xE2\x86\x92 %.1f%%", 100 * probs[id], 100 * samp[id]);
        else snprintf(pct, sizeof pct, "%.1f%%  cut", 100 * probs[id]);
        font(cr, FONT, u * 0.78, id == chosen);
        text(cr, r.x + r.w - u * 0.6, y + row * 0.7, pct, 1);
        if (id == chosen) {
            set(cr, CHOSEN);
            font(cr, FONT, u * 0.78, 1);
            text(cr, bar_x + fmax(bw, bar_w * samp[id]) + u * 0.4, y + row * 0.7, pos == last ? "\xE2\x97\x80 chosen" : "\xE2\x97\x80 came next", 0);
        }
        add_hit(v, pos == last ? HIT_CANDIDATE : HIT_NONE, r.x, y, r.w, row, id, 0);
    }
    /* the chosen token when it is not among the bars */
    int chosen_rank = -1;
    for (int i = 0; chosen >= 0 && i < V; i++)
        if (order[i] == chosen) { chosen_rank = i; break; }
    double y = top + u * 0.5 + nb * row + u * 0.2;
    font(cr, FONT, u * 0.8, 0);
    set(cr, INK);
    char line[400];
    if (chosen >= 0) {
        piece_label(v, chosen, label, sizeof label);
        snprintf(line, sizeof line, "%s \"%s\" (id %d): rank %d, p = %.4f", pos == last ? "chosen" : "actual next", label, chosen,
                 chosen_rank + 1, probs[chosen]);
        text_fit(cr, r.x + u * 0.7, y + u * 0.7, line, r.w - u * 1.4, 0);
    }
    /* the whole vocabulary as a sorted curve (log scale), with entropy and the cut-off */
    Rect c = {r.x + u * 3.5, y + u * 2.8, r.w - u * 4.5, r.y + r.h - (y + u * 2.8) - u * 2.2};
    if (c.h > u * 3) {
        set(cr, (Rgb){0.98, 0.98, 0.99});
        cairo_rectangle(cr, c.x, c.y, c.w, c.h);
        cairo_fill(cr);
        double lo = -8; /* log10 probability axis from 1e-8 to 1 */
        double cum = 0, x_cut = -1, cum_cut = 0;
        cairo_set_line_width(cr, fmax(1.2, u * 0.12));
        for (int i = 0; i < V; i++) {
            double x = c.x + c.w * log10(1.0 + i) / log10((double)V);
            double p = probs[order[i]];
            double yy = c.y + c.h * (log10(fmax(p, 1e-8)) / lo);
            if (samp[order[i]] > 0) {
                cum += p;
                if (i == kept - 1) x_cut = x, cum_cut = cum;
            }
            if (i == 0) cairo_move_to(cr, x, yy);
            else cairo_line_to(cr, x, yy);
        }
        set(cr, ACCENT);
        cairo_stroke(cr);
        if (x_cut >= 0 && kept < V) {
            seta(cr, MUTED, 0.18);
            cairo_rectangle(cr, x_cut, c.y, c.x + c.w - x_cut, c.h);
            cairo_fill(cr);
            set(cr, CHOSEN);
            cairo_move_to(cr, x_cut, c.y);
            cairo_line_to(cr, x_cut, c.y + c.h);
            cairo_stroke(cr);
        }
        font(cr, FONT, u * 0.7, 0);
        set(cr, MUTED);
        text(cr, c.x - u * 0.3, c.y + u * 0.6, "1", 1);
        text(cr, c.x - u * 0.3, c.y + c.h, "1e-8", 1);
        text(cr, c.x, c.y + c.h + u * 1.0, "rank 1", 0);
        char rk[64];
        snprintf(rk, sizeof rk, "rank %d (log scale)", V);
        text(cr, c.x + c.w, c.y + c.h + u * 1.0, rk, 1);
        set(cr, INK);
        font(cr, FONT, u * 0.8, 0);
        snprintf(line, sizeof line, "entropy %.2f nats \xC2\xB7 %d of %d tokens can be sampled, holding %.1f%% of the mass", H,
                 kept, V, 100 * (x_cut >= 0 ? cum_cut : 1.0));
        text_fit(cr, c.x, c.y - u * 0.4, line, c.w, 0);
    }
}

/* ---- inside a block ---- */

static void draw_block(VizState *v, cairo_t *cr, Rect r, double u) {
    if (!v->loaded) {
        panel(cr, r, u, "Inside a block");
        return;
    }
    const Gpt2Config *c = &v->gen.model.cfg;
    int q = viz_query_pos(v), l = v->layer, HS = c->n_embd / c->n_head;
    char title[300], label[128];
    piece_label(v, v->gen.trace.pos[q].token, label, sizeof label);
    snprintf(title, sizeof title, "Vectors at position %d \"%s\" \xE2\x80\x94 layer %d, head %d (blue < 0 < red; hover for values)", q, label, l, v->head);
    panel(cr, r, u, title);
    struct { const char *name; const float *a; int n; } rows[] = {
        {"tok_emb", tensor(v, TK_TOK_EMB, 0, q), c->n_embd},
        {"pos_emb", tensor(v, TK_POS_EMB, 0, q), c->n_embd},
        {"ln_1", tensor(v, TK_LN_1, l, q), c->n_embd},
        {"q (head)", tensor(v, TK_Q, l, q) ? tensor(v, TK_Q, l, q) + (size_t)v->head * HS : NULL, HS},
        {"k (head)", tensor(v, TK_K, l, q) ? tensor(v, TK_K, l, q) + (size_t)v->head * HS : NULL, HS},
        {"v (head)", tensor(v, TK_V, l, q) ? tensor(v, TK_V, l, q) + (size_t)v->head * HS : NULL, HS},
        {"resid_mid", tensor(v, TK_RESID_MID, l, q), c->n_embd},
        {"mlp.fc", tensor(v, TK_FC, l, q), c->n_inner},
        {"mlp.gelu", tensor(v, TK_GELU, l, q), c->n_inner},
        {"resid_out", tensor(v, TK_RESID_OUT, l, q), c->n_embd},
    };
    int nrows = (int)(sizeof rows / sizeof rows[0]);
    double lens_w = r.w * 0.28, x = r.x + u * 6.5, w = r.w - (x - r.x) - lens_w - u * 1.2;
    double top = r.y + u * 2.3, rh = fmin(u * 1.6, (r.h - u * 2.6) / nrows);
    for (int i = 0; i < nrows; i++) {
        double y = top + i * rh;
        set(cr, INK);
        font(cr, MONO, fmin(u * 0.8, rh * 0.7), 0);
        text(cr, x - u * 0.4, y + rh * 0.62, rows[i].name, 1);
        if (!rows[i].a) continue;
        vec_strip(v, cr, x, y + rh * 0.12, w, rh * 0.76, rows[i].a, rows[i].n);
        if (v->n_hits < VIZ_MAX_HITS) {
            v->hits[v->n_hits] = (Hit){HIT_VECTOR, {x, y, w, rh}, i, 0, i};
            v->n_hits++;
        }
    }
    /* hover on a strip: the element's index and value */
    if (v->hover >= 0 && v->hover < v->n_hits && v->hits[v->hover].kind == HIT_VECTOR) {
        const Hit *h = &v->hits[v->hover];
        int i = h->vec, n = rows[i].n;
        int idx = (int)((v->mouse_x - h->r.x) / h->r.w * n);
        if (idx >= 0 && idx < n && rows[i].a) {
            char tip[128];
            snprintf(tip, sizeof tip, "%s[%d] = %.5f", rows[i].name, idx, rows[i].a[idx]);
            font(cr, MONO, u * 0.8, 0);
            double tw = text_w(cr, tip) + u;
            double tx = fmin(v->mouse_x, r.x + r.w - tw), ty = h->r.y - u * 1.5;
            set(cr, INK);
            cairo_rectangle(cr, tx, ty, tw, u * 1.4);
            cairo_fill(cr);
            cairo_set_source_rgb(cr, 1, 1, 1);
            text(cr, tx + u * 0.5, ty + u * 1.0, tip, 0);
        }
    }
    /* logit lens: each layer's top prediction if decoding stopped there (computed by the core) */
    double lx = r.x + r.w - lens_w, ly = r.y + u * 2.3;
    set(cr, INK);
    font(cr, FONT, u * 0.8, 1);
    text(cr, lx, ly + u * 0.3, "logit lens: top token after each layer", 0);
    LensCache *lc = &v->lens;
    if (lc->epoch != v->epoch || lc->pos != q) { /* the lens, from the core, once per position */
        float *work = malloc(sizeof(float) * (size_t)c->n_vocab);
        lc->n = 0;
        for (int layer = 0; layer < c->n_layer && layer < 128; layer++) {
            const float *resid = tensor(v, TK_RESID_OUT, layer, q);
            lc->ids[layer] = -1;
            if (resid) gpt2_logit_lens(&v->gen.model, resid, 1, &lc->ids[layer], &lc->probs[layer], work);
            lc->n = layer + 1;
        }
        free(work);
        lc->epoch = v->epoch, lc->pos = q;
    }
    double lh = fmin(u * 1.3, (r.h - u * 3.5) / c->n_layer);
    int every = lh < u * 0.75 ? (int)ceil(u * 0.75 / lh) : 1;
    font(cr, MONO, fmin(u * 0.78, fmax(lh * every * 0.8, u * 0.6)), 0);
    for (int layer = 0; layer < lc->n; layer += every) {
        if (lc->ids[layer] < 0) continue;
        piece_label(v, lc->ids[layer], label, sizeof label);
        char line[200];
        snprintf(line, sizeof line, "L%-2d %-12s %4.1f%%", layer, label, 100 * lc->probs[layer]);
        set(cr, layer == l ? ACCENT : INK);
        text_fit(cr, lx, ly + u * 1.4 + (layer / every + 0.6) * lh * every, line, lens_w - u * 0.5, 0);
    }
}

/* ---- the pipeline ---- */

static void draw_pipeline(VizState *v, cairo_t *cr, Rect r, double u) {
    panel(cr, r, u, NULL);
    if (!v->loaded) return;
    int L = v->gen.model.cfg.n_layer, ns = viz_n_stages(v);
    int cur = v->stage, cur_layer = cur >= 0 ? viz_stage_layer(v, cur) : v->layer;
    font(cr, FONT, u * 0.78, 0);
    /* Boxes: the current layer is expanded into its six stages; other layers are one narrow box each. */
    double x = r.x + u * 0.5, y = r.y + r.h * 0.2, h = r.h * 0.6;
    double fixed = 0;
    const char *small[] = {"embed", "ln_f", "logits", "probs", "sample"};
    for (int i = 0; i < 5; i++) fixed += text_w(cr, small[i]) + u * 1.2;
    double expanded = 0;
    static const char *SUB[6] = {"LN", "attn", "+", "LN", "FFN", "+"};
    for (int i = 0; i < 6; i++) expanded += text_w(cr, SUB[i]) + u * 1.0;
    double layer_w = fmin(u * 4, fmax(u * 0.6, (r.w - u - fixed - expanded - u * 2) / fmax(1, L - 1)));
    char name[64];
    for (int s = 0; s < ns; s++) {
        int sl = viz_stage_layer(v, s);
        double w;
        const char *lab;
        if (sl < 0) {
            viz_stage_name(v, s, name, sizeof name);
            lab = name;
            w = text_w(cr, lab) + u * 1.2;
        } else if (sl == cur_layer) {
            lab = SUB[(s - 1) % 6];
            w = text_w(cr, lab) + u * 1.0;
        } else {
            if ((s - 1) % 6) continue; /* one box per collapsed layer */
            snprintf(name, sizeof name, "L%d", sl);
            lab = layer_w > text_w(cr, name) + u * 0.4 ? name : "";
            w = layer_w - u * 0.15;
        }
        int here = s == cur || (sl >= 0 && sl != cur_layer && sl == viz_stage_layer(v, cur));
        Rgb fill = here ? ACCENT : sl == cur_layer ? (Rgb){0.86, 0.91, 0.99} : (Rgb){0.93, 0.93, 0.95};
        set(cr, fill);
        cairo_rectangle(cr, x, y, w, h);
        cairo_fill(cr);
        if (sl == cur_layer && (s - 1) % 6 == 0) { /* label the expanded layer above its boxes */
            set(cr, ACCENT);
            font(cr, FONT, u * 0.7, 1);
            snprintf(name, sizeof name, "layer %d", sl);
            text(cr, x, y - u * 0.25, name, 0);
            font(cr, FONT, u * 0.78, 0);
        }
        set(cr, here ? (Rgb){1, 1, 1} : INK);
        text(cr, x + w / 2, y + h * 0.66, lab, 0.5);
        add_hit(v, HIT_STAGE, x, y, w, h, s, 0);
        x += w + u * 0.15;
    }
    if (cur >= 0) {
        viz_stage_name(v, cur, name, sizeof name);
        char line[128];
        snprintf(line, sizeof line, "you are here: %s", name);
        set(cr, ACCENT);
        font(cr, FONT, u * 0.75, 1);
        text(cr, r.x + r.w - u * 0.5, r.y + r.h - u * 0.3, line, 1);
    }
}

/* ---- help, captions, messages ---- */

static void draw_help(cairo_t *cr, double W, double H, double u) {
    seta(cr, INK, 0.55);
    cairo_rectangle(cr, 0, 0, W, H);
    cairo_fill(cr);
    int n = 0;
    while (VIZ_HELP_LINES[n]) n++;
    double bw = fmin(W * 0.8, u * 48), bh = (n + 3) * u * 1.5, bx = (W - bw) / 2, by = (H - bh) / 2;
    set(cr, PANEL);
    cairo_rectangle(cr, bx, by, bw, bh);
    cairo_fill(cr);
    set(cr, INK);
    font(cr, FONT, u * 1.2, 1);
    text(cr, bx + u, by + u * 1.8, "Keys", 0);
    font(cr, MONO, u * 0.9, 0);
    for (int i = 0; i < n; i++) text_fit(cr, bx + u, by + u * (3.6 + 1.5 * i), VIZ_HELP_LINES[i], bw - 2 * u, 0);
}

/* The caption box: lines of text, wrapped at spaces; **text** is bold (a whole bold line is a heading). */
static double draw_caption(VizState *v, cairo_t *cr, Rect r, double u) {
    if (!v->caption[0]) return 0;
    set(cr, (Rgb){1.0, 0.98, 0.90});
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_fill(cr);
    set(cr, (Rgb){0.85, 0.70, 0.2});
    cairo_rectangle(cr, r.x, r.y, u * 0.3, r.h);
    cairo_fill(cr);
    cairo_save(cr);
    cairo_rectangle(cr, r.x, r.y, r.w, r.h);
    cairo_clip(cr);
    const char *p = v->caption;
    double y = r.y + u * 1.5, x0 = r.x + u * 1.0, xmax = r.x + r.w - u;
    char line[2048];
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= sizeof line) n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = 0;
        int heading = n >= 4 && !strncmp(line, "**", 2) && !strcmp(line + n - 2, "**");
        double size = u * (heading ? 1.1 : 1.0), x = x0, space;
        int bold = 0;
        set(cr, INK);
        font(cr, FONT, size, 0);
        space = text_w(cr, " ");
        /* word by word: "**" toggles bold, a word that does not fit starts a new line */
        for (char *w = strtok(line, " "); w; w = strtok(NULL, " ")) {
            char word[512];
            size_t k = 0;
            int bold_at_start = bold;
            for (const char *c = w; *c && k < sizeof word - 1; c++) {
                if (c[0] == '*' && c[1] == '*') {
                    if (k == 0) bold_at_start = !bold;
                    bold = !bold;
                    c++;
                    continue;
                }
                word[k++] = *c;
            }
            word[k] = 0;
            font(cr, FONT, size, bold_at_start || bold);
            double ww = text_w(cr, word);
            if (x > x0 && x + ww > xmax) {
                x = x0;
                y += u * 1.45;
            }
            text(cr, x, y, word, 0);
            x += ww + space;
        }
        y += u * 1.45;
        p = nl ? nl + 1 : p + n;
    }
    cairo_restore(cr);
    return r.h;
}

static void draw_message(VizState *v, cairo_t *cr, double W, double H, double u) {
    if (!v->message[0] && !v->busy) return;
    const char *msg = v->busy ? v->busy_what : v->message;
    font(cr, FONT, u * 1.0, 1);
    double w = fmin(text_w(cr, msg) + u * 2, W - u * 2), h = u * 2.2, x = (W - w) / 2, y = H - h - u;
    set(cr, v->busy ? ACCENT : v->message_is_error ? ERROR : INK);
    cairo_rectangle(cr, x, y, w, h);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    text_fit(cr, x + u, y + h * 0.65, msg, w - u * 2, 0);
}

/* ---- the whole window ---- */

void viz_draw(VizState *v, cairo_t *cr, double W, double H) {
    v->n_hits = 0;
    double u = unit(v, W, H);
    set(cr, BG);
    cairo_paint(cr);
    if (v->only != VIEW_ALL && v->loaded) {
        /* one view fills the canvas, under the header and above a lesson's caption */
        double header_h = u * 2.4, caption_h = v->caption[0] ? u * 1.3 * 7.5 : 0;
        draw_header(v, cr, (Rect){0, 0, W, header_h}, u);
        u *= 1.3;
        Rect all = {u * 0.4, header_h + u * 0.4, W - u * 0.8, H - header_h - caption_h - u * 0.8};
        switch (v->only) {
        case VIEW_TOKENS: draw_token_table(v, cr, all, u); break;
        case VIEW_ATTENTION: draw_heatmap(v, cr, all, u); break;
        case VIEW_GRID: draw_grid(v, cr, all, u); break;
        case VIEW_DIST: draw_distribution(v, cr, all, u); break;
        case VIEW_BLOCK: draw_block(v, cr, all, u); break;
        case VIEW_PIPELINE: draw_pipeline(v, cr, all, u); break;
        default: break;
        }
        if (caption_h > 0) draw_caption(v, cr, (Rect){u * 0.4, H - caption_h, W - u * 0.8, caption_h - u * 0.4}, u / 1.3 * 1.15);
        if (v->help) draw_help(cr, W, H, u);
        draw_message(v, cr, W, H, u);
        return;
    }
    double header_h = u * 2.4, tokens_h = u * 5.0, pipe_h = u * 3.2;
    double caption_h = v->caption[0] ? u * 7.5 : 0;
    double block_h = v->caption[0] ? fmax(u * 9, H * 0.18) : fmax(u * 12, H * 0.26);
    Rect header = {0, 0, W, header_h};
    Rect tokens = {u * 0.5, header_h + u * 0.5, W - u, tokens_h};
    double mid_y = tokens.y + tokens_h + u * 0.5;
    double mid_h = H - mid_y - pipe_h - block_h - caption_h - u * 1.5;
    Rect left = {u * 0.5, mid_y, (W - u * 1.5) * 0.55, mid_h};
    Rect right = {left.x + left.w + u * 0.5, mid_y, W - u * 1.5 - left.w, mid_h};
    Rect pipe = {u * 0.5, mid_y + mid_h + u * 0.5, W - u, pipe_h};
    Rect block = {u * 0.5, pipe.y + pipe_h, W - u, block_h};
    Rect caption = {u * 0.5, block.y + block_h + u * 0.5, W - u, caption_h - u * 0.5};
    draw_header(v, cr, header, u);
    draw_tokens(v, cr, tokens, u);
    if (v->main == MAIN_GRID) draw_grid(v, cr, left, u);
    else draw_heatmap(v, cr, left, u);
    draw_distribution(v, cr, right, u);
    draw_pipeline(v, cr, pipe, u);
    draw_block(v, cr, block, u);
    draw_caption(v, cr, caption, u);
    if (!v->loaded && !v->busy) {
        set(cr, MUTED);
        font(cr, FONT, u * 1.3, 0);
        text(cr, W / 2, H / 2, "No model loaded \xE2\x80\x94 press : and type model NAME", 0.5);
    }
    if (v->help) draw_help(cr, W, H, u);
    draw_message(v, cr, W, H, u);
}

/* ---- export ---- */

int viz_export(VizState *v, const char *path, int w, int h, Err *err) {
    const char *dot = strrchr(path, '.');
    cairo_surface_t *s;
    int png = 0;
    if (dot && !strcmp(dot, ".png")) {
        s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
        png = 1;
    } else if (dot && !strcmp(dot, ".pdf")) {
        s = cairo_pdf_surface_create(path, w, h);
    } else if (dot && !strcmp(dot, ".svg")) {
        s = cairo_svg_surface_create(path, w, h);
    } else {
        return err_set(err, "%s: expected a file name ending in .png, .svg or .pdf", path);
    }
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return err_set(err, "%s: cannot create: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    }
    cairo_t *cr = cairo_create(s);
    /* No hover tooltips in a file. The window redraws (and records its hit areas) after this. */
    int hover = v->hover;
    v->hover = -1;
    viz_draw(v, cr, w, h);
    v->hover = hover;
    cairo_destroy(cr);
    cairo_surface_flush(s);
    cairo_status_t st = png ? cairo_surface_write_to_png(s, path) : CAIRO_STATUS_SUCCESS;
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) return err_set(err, "%s: cannot write: %s", path, cairo_status_to_string(st));
    return 0;
}
