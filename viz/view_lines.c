/* view_lines.c - attention drawn on the text itself. The text wraps as a paragraph of token chips; for
 * the query (the selected position, or the one under the mouse) each earlier token is tinted by the
 * weight the query puts on it (as CircuitsVis colours text), and arcs run from the query to every
 * earlier token with their thickness and opacity by weight (as BertViz's head view draws lines): for
 * the selected head, or for every head of the layer at once, one colour a head. A long text shows the
 * rows around the query and says how many tokens before and after are not shown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

/* A colour per head, far apart on the hue circle (golden angle), dark enough on white. */
static Rgb head_colour(int h) {
    double hue = fmod(h * 137.508, 360.0) / 60.0, s = 0.75, l = 0.42;
    double c = (1 - fabs(2 * l - 1)) * s, x = c * (1 - fabs(fmod(hue, 2) - 1)), m = l - c / 2;
    double r = 0, g = 0, b = 0;
    if (hue < 1) r = c, g = x;
    else if (hue < 2) r = x, g = c;
    else if (hue < 3) g = c, b = x;
    else if (hue < 4) g = x, b = c;
    else if (hue < 5) r = x, b = c;
    else r = c, b = x;
    return (Rgb){r + m, g + m, b + m};
}

void view_lines(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const Trace *tr = &v->run.gen.trace;
    const int n = viz_n_shown(v), L = v->view.layer, NH = c->n_head, all = v->view.lines_all;
    int q = viz_query_pos(v);
    const Hit *hov = viz_hover_hit(v, HIT_TOKEN);
    int hovering = hov && hov->a >= 0 && hov->a < n && hov->b == -2; /* a chip of this view under the mouse */
    if (hovering) q = hov->a;
    char title[400], piece[256];
    viz_piece_at(v, q, piece, sizeof piece);
    if (all)
        snprintf(title, sizeof title, "Attention on the text \xE2\x80\x94 layer %d, every head, query %d \"%s\"%s", L, q, piece,
                 hovering ? " (under the mouse)" : "");
    else
        snprintf(title, sizeof title, "Attention on the text \xE2\x80\x94 layer %d, head %d, query %d \"%s\"%s", L, v->view.head, q, piece,
                 hovering ? " (under the mouse)" : "");
    gfx_panel_title(g, r, title, all ? "a colour a head \xC2\xB7 W: one head" : "W: every head");
    const float *w = viz_tensor_shown(v, TK_WEIGHTS, L, q);
    if (!w) return;
    const int K = tr->pos[q].n_keys;
    /* the paragraph: chips wrapped at the panel's width, in the largest text (up to twice the body size)
     * at which the whole text fits; a long text at body size shows the rows around the query */
    double pad = g->fs * 0.6, top = r.y + gfx_title_h(g) + pad;
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    double foot_h = gfx_line_h(g) * 1.6 + (all ? gfx_line_h(g) * 1.3 : 0);
    double x0 = r.x + pad * 2, maxx = r.x + r.w - pad * 2;
    double *xs = xmalloc(sizeof(double) * (size_t)n), *ws = xmalloc(sizeof(double) * (size_t)n);
    int *row = xmalloc(sizeof(int) * (size_t)n), rows = 1;
    double fs = g->fs * 2, cp = 0, ch = 0, gap_x = 0, row_h = 0;
    for (;; fs *= 0.9) {
        if (fs < g->fs) fs = g->fs;
        gfx_font(g, FONT_MONO, fs, 0);
        cp = fs * 0.3, ch = gfx_line_h(g) + cp, gap_x = fs * 0.25, row_h = ch * 2.6; /* room above each row for arcs */
        double x = x0;
        rows = 1;
        for (int p = 0; p < n; p++) {
            viz_piece_at(v, p, piece, sizeof piece);
            double wd = fmin(gfx_text_w(g, piece) + 2 * cp, (maxx - x0) * 0.4);
            if (x + wd > maxx && x > x0) x = x0, rows++;
            xs[p] = x, ws[p] = wd, row[p] = rows - 1;
            x += wd + gap_x;
        }
        if (fs <= g->fs || rows * row_h <= r.y + r.h - top - foot_h) break;
    }
    int fit = (int)((r.y + r.h - top - foot_h) / row_h);
    if (fit < 1) fit = 1;
    int first_row = row[q] - fit + 1; /* the query's row last, with as many earlier rows as fit */
    if (first_row < 0) first_row = 0;
    const int last_row = first_row + fit - 1;
    /* tints: one head's weight, or (every head) the largest weight any head puts on the token */
    for (int p = 0; p < n; p++) {
        if (row[p] < first_row || row[p] > last_row) continue;
        Rect chip = {xs[p], top + (row[p] - first_row) * row_h + (row_h - ch), ws[p], ch};
        double wt = 0;
        if (p <= q && p < K)
            for (int h = all ? 0 : v->view.head; h < (all ? NH : v->view.head + 1); h++) wt = fmax(wt, w[(size_t)h * K + p]);
        gfx_fill(g, chip, p > q ? GFX_MASKED : gfx_seq(g, wt));
        if (p == q) gfx_stroke(g, (Rect){chip.x - 1.5, chip.y - 1.5, chip.w + 3, chip.h + 3}, GFX_ACCENT, fmax(2, g->fs * 0.15));
        viz_piece_at(v, p, piece, sizeof piece);
        gfx_font(g, FONT_MONO, fs, p == q);
        gfx_color(g, p > q ? GFX_MUTED : wt > 0.55 ? GFX_WHITE : GFX_INK);
        gfx_text_fit(g, chip.x + cp, chip.y + ch / 2 + gfx_ascent(g) * 0.4, piece, chip.w - 2 * cp + 0.5, 0); /* + 0.5: (w + 2cp) - 2cp rounds */
        viz_add_hit(v, HIT_TOKEN, chip, p, -2); /* -2: this view's chips (b is a token id elsewhere) */
    }
    /* arcs from the query to each earlier key it attends to, above the chips */
    cairo_t *cr = g->cr;
    cairo_save(cr);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    double qx = xs[q] + ws[q] / 2, qy = top + (row[q] - first_row) * row_h + (row_h - ch);
    for (int h = all ? 0 : v->view.head; h < (all ? NH : v->view.head + 1); h++) {
        Rgb col = all ? head_colour(h) : GFX_ACCENT;
        for (int k = 0; k <= q && k < K; k++) {
            double wt = w[(size_t)h * K + k];
            if (wt < 0.01 || k == q || row[k] < first_row) continue; /* a line too faint to see is left out */
            double kx = xs[k] + ws[k] / 2 + (all ? (h - (NH - 1) / 2.0) * fmin(ws[k] / (NH + 1), fs * 0.12) : 0);
            double ky = top + (row[k] - first_row) * row_h + (row_h - ch);
            double lift = fmin(row_h - ch, fs * 0.6 + fabs(kx - qx) * 0.25 + fabs(ky - qy) * 0.15) * 0.9;
            cairo_move_to(cr, qx, qy);
            cairo_curve_to(cr, qx, fmin(qy, ky) - lift, kx, fmin(qy, ky) - lift, kx, ky);
            gfx_color_a(g, col, 0.2 + 0.8 * wt);
            cairo_set_line_width(cr, fmax(0.8, fs * 0.5 * wt));
            cairo_stroke(cr);
        }
    }
    cairo_restore(cr);
    /* what is not shown, and the legend */
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    int before = 0, after = 0;
    for (int p = 0; p < n; p++) before += row[p] < first_row, after += row[p] > last_row;
    char foot[300];
    snprintf(foot, sizeof foot, "%s attention weights from the query: darker, thicker = more; lines under 1%% left out; hover a token to "
             "see its own", all ? "tint: the largest of the heads'" : "tint and lines: the head's");
    if (before || after)
        snprintf(foot + strlen(foot), sizeof foot - strlen(foot), " \xC2\xB7 %d tokens before and %d after are not shown", before, after);
    gfx_text_fit(g, r.x + pad * 2, r.y + r.h - pad - gfx_line_h(g) + gfx_ascent(g), foot, r.w - 4 * pad, 0);
    if (all) { /* which colour is which head */
        double lx = r.x + pad * 2, ly = r.y + r.h - pad - gfx_line_h(g) * 2.3;
        for (int h = 0; h < NH && lx < r.x + r.w - pad * 6; h++) {
            char hl[16];
            snprintf(hl, sizeof hl, "head %d", h);
            gfx_fill(g, (Rect){lx, ly + gfx_line_h(g) * 0.2, g->fs * 0.8, gfx_line_h(g) * 0.6}, head_colour(h));
            gfx_color(g, GFX_INK);
            lx += g->fs * 1.1 + gfx_text(g, lx + g->fs * 1.1, ly + gfx_ascent(g), hl, 0) + g->fs * 0.8;
        }
    }
    free(xs), free(ws), free(row);
}
