/* view_grid.c - every head at once: a layers x heads grid of small attention-weight heatmaps. When the
 * layers do not all fit at a readable size (GPT-2 XL has 48 x 25 heads), the grid shows a window of
 * layers around the selected one; Up/Down move it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

void view_grid(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    int n = viz_n_shown(v), L = c->n_layer, NH = c->n_head;
    double pad = g->fs * 0.5, top = r.y + gfx_title_h(g);
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    double lab_h = gfx_line_h(g);
    char lab[32];
    snprintf(lab, sizeof lab, "L%d", L - 1);
    double left = gfx_text_w(g, lab) + pad * 1.5;
    double area_w = r.w - left - 2 * pad, area_h = r.y + r.h - top - lab_h - 2 * pad;
    double min_side = fmax(lab_h * 1.15, 14);
    double side = fmin(area_w / NH, area_h / L);
    int shown = L, l0 = 0;
    if (side < min_side) { /* a window of layers, following the selected one */
        side = fmax(fmin(area_w / NH, fmax(min_side * 1.6, area_h / L)), 1);
        shown = viz_layer_window(v, (int)(area_h / side), &l0);
    }
    char title[200], note[96] = "";
    /* ablated - clean: a diverging scale up to the largest change shown */
    int diff = v->view.run_shown == RUN_DIFF && viz_comparing(v);
    double scale = 1e-6;
    for (int l = l0; diff && l < l0 + shown; l++)
        for (int q = 0; q < n; q++) {
            const float *row = viz_tensor_shown(v, TK_WEIGHTS, l, q);
            int K = v->run.gen.trace.pos[q].n_keys;
            for (int i = 0; row && i < NH * K; i++)
                if (isfinite(row[i]) && fabs(row[i]) > scale) scale = fabs(row[i]);
        }
    const char *run = viz_run_label(v);
    if (diff)
        snprintf(title, sizeof title, "All heads \xE2\x80\x94 attention weights, %s (blue \xE2\x88\x92%.2f \xE2\x80\xA6 red +%.2f)", run, scale, scale);
    else if (run)
        snprintf(title, sizeof title, "All heads \xE2\x80\x94 attention weights (%s), layers \xC3\x97 heads", run);
    else
        snprintf(title, sizeof title, "All heads \xE2\x80\x94 attention weights, layers \xC3\x97 heads (click one to open it)");
    if (shown < L) snprintf(note, sizeof note, "layers %d\xE2\x80\x93%d of %d (\xE2\x86\x91/\xE2\x86\x93 moves)", l0, l0 + shown - 1, L);
    gfx_panel_title(g, r, title, note);
    double gx = r.x + left + pad, gy = top + lab_h + pad * 0.5, gap = fmax(1, side * 0.08), inner = side - gap;
    /* each small heatmap: at most one cell per pixel, a cell being the mean weight of its block */
    int m = n < (int)inner ? n : (int)inner;
    if (m < 1) m = 1;
    uint32_t *px = xmalloc(sizeof(uint32_t) * (size_t)m * m);
    double *acc = xmalloc(sizeof(double) * (size_t)m * m);
    int *cnt = xmalloc(sizeof(int) * (size_t)m * m);
    uint32_t masked = gfx_argb(GFX_MASKED, 1);
    int label_every = side >= lab_h ? 1 : (int)ceil(lab_h / side);
    for (int li = 0; li < shown; li++) {
        int l = l0 + li;
        if ((li % label_every == 0 && abs(l - v->view.layer) >= label_every) || l == v->view.layer) { /* none crowding the selected */
            gfx_font(g, FONT_SANS, g->fs * 0.8, l == v->view.layer);
            gfx_color(g, l == v->view.layer ? GFX_ACCENT : GFX_MUTED);
            snprintf(lab, sizeof lab, "L%d", l);
            gfx_text_fit(g, gx - pad * 0.5, gy + li * side + inner / 2 + gfx_ascent(g) * 0.4, lab, left, 1);
        }
        for (int h = 0; h < NH; h++) {
            memset(acc, 0, sizeof(double) * (size_t)m * m);
            memset(cnt, 0, sizeof(int) * (size_t)m * m);
            for (int q = 0; q < n; q++) {
                const float *row = viz_tensor_shown(v, TK_WEIGHTS, l, q);
                if (!row) continue;
                int K = v->run.gen.trace.pos[q].n_keys, i = (int)((long)q * m / n);
                for (int k = 0; k <= q && k < K; k++) {
                    int j = (int)((long)k * m / n);
                    acc[(size_t)i * m + j] += row[(size_t)h * K + k];
                    cnt[(size_t)i * m + j]++;
                }
            }
            for (int i = 0; i < m * m; i++)
                px[i] = !cnt[i] ? masked : gfx_argb(diff ? gfx_div(g, acc[i] / cnt[i] / scale) : gfx_seq(g, acc[i] / cnt[i]), 1);
            Rect cell = {gx + h * side, gy + li * side, inner, inner};
            gfx_cells(g, cell, px, m, m);
            if (viz_head_ablated(v, l, h)) gfx_cross(g, cell); /* knocked out */
            if (l == v->view.layer && h == v->view.head)
                gfx_stroke(g, (Rect){cell.x - 1, cell.y - 1, inner + 2, inner + 2}, GFX_ACCENT, fmax(1.5, g->fs * 0.12));
            viz_add_hit(v, HIT_GRID, cell, l, h);
        }
    }
    free(px);
    free(acc);
    free(cnt);
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    int every = 1;
    snprintf(lab, sizeof lab, "%d", NH - 1);
    while (every * side < gfx_text_w(g, lab) + pad * 0.5) every++;
    for (int h = 0; h < NH; h++) {
        if (h % every && h != v->view.head) continue;
        if (h != v->view.head && abs(h - v->view.head) < every) continue;
        snprintf(lab, sizeof lab, "%d", h);
        gfx_font(g, FONT_SANS, g->fs * 0.8, h == v->view.head);
        gfx_color(g, h == v->view.head ? GFX_ACCENT : GFX_MUTED);
        gfx_text(g, gx + h * side + inner / 2, gy - pad * 0.4, lab, 0.5);
    }
    const Hit *hh = viz_hover_hit(v, HIT_GRID);
    if (hh) {
        char tip[64];
        snprintf(tip, sizeof tip, "layer %d, head %d (h.%d.attn.weights)", hh->a, hh->b, hh->a);
        gfx_tooltip(g, r, hh->r.x, hh->r.y, tip);
    }
}
