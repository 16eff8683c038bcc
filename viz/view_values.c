/* view_values.c - the weighted sum of values: for the selected query and head, what attention does with
 * its weights. Each key's value vector v_k (its head's slice of h.L.attn.v) is scaled by the query's
 * weight on it, and the scaled vectors add up to the head's output (its slice of h.L.attn.heads):
 *   out = sum over keys k of w_k * v_k
 * The rows of the most weighted keys are drawn on one colour scale, so that a small weight shows as a
 * faint row; the sum over every key is drawn beside the output the forward pass recorded, with their
 * first values written out, so that the equality can be read to the digits shown. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

int viz_values_sum(const VizState *v, int q, float *sum, const float **recorded) {
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const int L = v->view.layer, h = v->view.head, HS = c->n_embd / c->n_head;
    const float *w = viz_tensor(v, TK_WEIGHTS, L, q), *out = viz_tensor(v, TK_HEADS, L, q);
    if (!w || !out) return -1;
    const int K = v->run.gen.trace.pos[q].n_keys;
    for (int i = 0; i < HS; i++) sum[i] = 0;
    for (int k = 0; k <= q && k < K; k++) {
        const float *val = viz_tensor(v, TK_V, L, k);
        if (!val) return -1;
        const float wk = w[(size_t)h * K + k];
        for (int i = 0; i < HS; i++) sum[i] += wk * val[h * HS + i];
    }
    *recorded = out + (size_t)h * HS;
    return 0;
}

void view_values(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const int L = v->view.layer, h = v->view.head, HS = c->n_embd / c->n_head, q = viz_query_pos(v);
    char title[300], piece[128], line[400];
    viz_piece_at(v, q, piece, sizeof piece);
    snprintf(title, sizeof title, "Weighted sum of values \xE2\x80\x94 layer %d, head %d, query %d \"%s\"", L, h, q, piece);
    gfx_panel_title(g, r, title, "out = \xCE\xA3 w\xE2\x82\x96 \xC2\xB7 v\xE2\x82\x96");
    const float *w = viz_tensor(v, TK_WEIGHTS, L, q);
    float *sum = xmalloc(sizeof(float) * (size_t)HS);
    const float *rec = NULL;
    if (!w || viz_values_sum(v, q, sum, &rec)) {
        gfx_font(g, FONT_SANS, g->fs, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, r.x + g->fs, r.y + gfx_title_h(g) + g->fs, "this position's attention was not recorded", r.w - 2 * g->fs, 0);
        free(sum);
        return;
    }
    const int K = v->run.gen.trace.pos[q].n_keys, n = q + 1 < K ? q + 1 : K;
    double pad = g->fs * 0.5, y = r.y + gfx_title_h(g) + pad * 0.5;
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    double lh = gfx_line_h(g), row = lh * 1.25;
    /* rows as tall as the panel allows (up to twice the text), for the back of a room */
    row = fmax(row, fmin(lh * 2.2, (r.y + r.h - y - pad) / (double)((q + 1 < 24 ? q + 1 : 24) + 6)));
    const double bar_h = fmax(lh * 0.8, row * 0.7);
    /* the rows: keys by weight, as many as fit above the sum */
    int *order = xmalloc(sizeof(int) * (size_t)n);
    for (int k = 0; k < n; k++) order[k] = k;
    for (int i = 1; i < n; i++) /* by weight, largest first (insertion sort: n is at most the context) */
        for (int j = i; j > 0 && w[(size_t)h * K + order[j]] > w[(size_t)h * K + order[j - 1]]; j--) {
            int t = order[j];
            order[j] = order[j - 1], order[j - 1] = t;
        }
    int fit = (int)((r.y + r.h - y - 5 * row - pad) / row);
    if (fit > n) fit = n;
    if (fit < 0) fit = 0;
    /* one scale for every row: the largest |value| of any value vector shown or of the sum */
    float m = 1e-9f;
    for (int i = 0; i < fit; i++) {
        const float *val = viz_tensor(v, TK_V, L, order[i]) + h * HS;
        for (int j = 0; j < HS; j++) m = fmaxf(m, fabsf(val[j]));
    }
    for (int j = 0; j < HS; j++) m = fmaxf(m, fmaxf(fabsf(sum[j]), fabsf(rec[j])));
    double c0 = r.x + pad * 2, cw = g->fs * 15, c2 = c0 + cw, bar_w = (r.x + r.w - pad * 2 - c2 - pad * 3) / 2;
    if (bar_w < g->fs * 4) bar_w = g->fs * 4;
    gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
    gfx_color(g, GFX_MUTED);
    gfx_text_fit(g, c0, y + gfx_ascent(g), "key (weight w\xE2\x82\x96)", cw - pad, 0);
    snprintf(line, sizeof line, "v\xE2\x82\x96 (head %d's %d values of h.%d.attn.v)", h, HS, L);
    gfx_text_fit(g, c2, y + gfx_ascent(g), line, bar_w, 0);
    gfx_text_fit(g, c2 + bar_w + pad * 3, y + gfx_ascent(g), "w\xE2\x82\x96 \xC2\xB7 v\xE2\x82\x96", bar_w, 0);
    y += row;
    float *scaled = xmalloc(sizeof(float) * (size_t)HS);
    double shown_w = 0;
    for (int i = 0; i < fit; i++) {
        int k = order[i];
        const float *val = viz_tensor(v, TK_V, L, k) + h * HS;
        const float wk = w[(size_t)h * K + k];
        shown_w += wk;
        for (int j = 0; j < HS; j++) scaled[j] = wk * val[j];
        char num[32];
        viz_piece_at(v, k, piece, sizeof piece);
        double ty = y + (bar_h - lh) / 2 + gfx_ascent(g);
        gfx_font(g, FONT_MONO, g->fs * 0.8, k == q);
        gfx_color(g, GFX_INK);
        snprintf(line, sizeof line, "%d", k);
        gfx_text(g, c0 + g->fs * 1.6, ty, line, 1);
        gfx_text_fit(g, c0 + g->fs * 2.1, ty, piece, cw * 0.45, 0);
        gfx_text(g, c2 - pad, ty, viz_num4(wk, 0, num, sizeof num), 1);
        gfx_vector_scaled(g, (Rect){c2, y, bar_w, bar_h}, val, HS, m);
        gfx_color(g, GFX_MUTED);
        gfx_text(g, c2 + bar_w + pad * 1.5, ty, "\xE2\x86\x92", 0.5);
        gfx_vector_scaled(g, (Rect){c2 + bar_w + pad * 3, y, bar_w, bar_h}, scaled, HS, m);
        y += row;
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    if (n > fit)
        snprintf(line, sizeof line, "\xE2\x80\xA6 and %d more key%s with weight %.4f in all", n - fit, n - fit == 1 ? "" : "s", 1.0 - shown_w);
    else
        snprintf(line, sizeof line, "every key of the query's row (%d), weights adding up to 1", n);
    gfx_text_fit(g, c0, y + gfx_ascent(g), line, r.w - 4 * pad, 0);
    y += row * 1.2;
    /* the sum over every key, and the output the forward pass recorded */
    const float *rows[2] = {sum, rec};
    const char *names[2] = {"\xCE\xA3 w\xE2\x82\x96 \xC2\xB7 v\xE2\x82\x96 (all keys)", "recorded output"};
    float diff = 0;
    for (int j = 0; j < HS; j++) diff = fmaxf(diff, fabsf(sum[j] - rec[j]));
    for (int i = 0; i < 2; i++) {
        double ty = y + (bar_h - lh) / 2 + gfx_ascent(g);
        gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, c0, ty, names[i], cw - pad, 0);
        gfx_vector_scaled(g, (Rect){c2, y, bar_w, bar_h}, rows[i], HS, m);
        size_t k = 0; /* its first values, to the digits shown */
        for (int j = 0; j < 4 && j < HS; j++) k += (size_t)snprintf(line + k, sizeof line - k, "%s%+.4f", j ? " " : "", rows[i][j]);
        snprintf(line + k, sizeof line - k, " \xE2\x80\xA6");
        gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, c2 + bar_w + pad * 3, ty, line, bar_w, 0);
        y += row;
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    snprintf(line, sizeof line, "h.%d.attn.heads, head %d's %d values \xC2\xB7 largest difference %.1e (float rounding) \xC2\xB7 "
             "colour: blue < 0 < red, every row on one scale (\xC2\xB1%.3g)", L, h, HS, diff, m);
    gfx_text_fit(g, c0, y + gfx_ascent(g), line, r.w - 4 * pad, 0);
    free(scaled);
    free(order);
    free(sum);
}
