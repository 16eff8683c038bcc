/* view_heads.c - the head finder: the layers x heads grid of the model, each head coloured by one score
 * of `gptstep heads` (previous token, first token, induction, duplicate token: heads.h), its value
 * written in it where it fits, the strongest heads listed. A click opens a head's heatmap, a right-click
 * knocks it out; the scores' names above the grid switch between them. On models whose layers do not
 * fit (GPT-2 XL: 48) a window of layers follows the selected one, and says which. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

void view_heads(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const HeadScores *sc = v->run.head_scores;
    const int L = c->n_layer, NH = c->n_head, which = v->view.head_score;
    char title[300], note[96] = "", lab[64];
    static const char *KIND[HEAD_SCORES] = {"previous-token heads", "first-token heads", "induction heads", "duplicate-token heads"};
    snprintf(title, sizeof title, "Head finder \xE2\x80\x94 %s", KIND[which]);
    double pad = g->fs * 0.5, top = r.y + gfx_title_h(g);
    if (!sc) {
        v->ui.placeholder = 1;
        gfx_panel_title(g, r, "Head finder", "");
        gfx_font(g, FONT_SANS, g->fs, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, r.x + pad * 2, top + pad + gfx_ascent(g),
                     "Press H (or type :heads) to score every head: previous token, first token, induction, duplicate token.", r.w - 4 * pad, 0);
        return;
    }
    /* the scores to choose from */
    gfx_font(g, FONT_SANS, g->fs * 0.9, 1);
    double x = r.x + pad * 2, tab_h = gfx_line_h(g) * 1.4, y = top + pad * 0.3;
    for (int k = 0; k < HEAD_SCORES; k++) {
        double w = gfx_text_w(g, HEAD_SCORE_NAMES[k]) + pad * 2;
        Rect t = {x, y, w, tab_h};
        if (k == which) gfx_fill(g, t, GFX_ACCENT);
        gfx_stroke(g, t, k == which ? GFX_ACCENT : GFX_RULE, 1);
        gfx_color(g, k == which ? GFX_WHITE : GFX_INK);
        gfx_text(g, x + pad, y + tab_h / 2 + gfx_ascent(g) * 0.4, HEAD_SCORE_NAMES[k], 0);
        viz_add_hit(v, HIT_SCORE, t, k, 0);
        x += w + pad * 0.6;
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    char what[200];
    snprintf(what, sizeof what, "each head's mean attention weight on %s \xC2\xB7 H: next score \xC2\xB7 click a head to open it",
             HEAD_SCORE_WHAT[which]);
    gfx_text_fit(g, x + pad, y + tab_h / 2 + gfx_ascent(g) * 0.4, what, r.x + r.w - x - 2 * pad, 0);
    y += tab_h + pad;
    /* the strongest heads, on the right */
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double lh = gfx_line_h(g), list_w = fmin(g->fs * 11, r.w * 0.3);
    /* the grid: as large as fits; a window of layers when they do not all fit at a readable size */
    snprintf(lab, sizeof lab, "L%d", L - 1);
    double left = gfx_text_w(g, lab) + pad * 1.5, head_lab = lh;
    double area_w = r.w - left - list_w - 4 * pad, area_h = r.y + r.h - y - head_lab - lh * 3.4 - pad;
    double side = fmin(area_w / NH, area_h / L), min_side = fmax(lh * 1.1, 14);
    int shown = L, l0 = 0;
    if (side < min_side) {
        side = fmax(fmin(area_w / NH, min_side), 1);
        shown = viz_layer_window(v, (int)(area_h / side), &l0);
        snprintf(note, sizeof note, "layers %d\xE2\x80\x93%d of %d (\xE2\x86\x91/\xE2\x86\x93 moves)", l0, l0 + shown - 1, L);
    }
    gfx_panel_title(g, r, title, "");
    double gx = r.x + left + pad, gy = y + head_lab, gap = fmax(1, side * 0.06), inner = side - gap;
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    int every = 1;
    snprintf(lab, sizeof lab, "%d", NH - 1);
    while (every * side < gfx_text_w(g, lab) + pad * 0.5) every++;
    for (int h = 0; h < NH; h++) { /* head numbers across the top */
        if (h % every && h != v->view.head) continue;
        snprintf(lab, sizeof lab, "%d", h);
        gfx_font(g, FONT_SANS, g->fs * 0.8, h == v->view.head);
        gfx_color(g, h == v->view.head ? GFX_ACCENT : GFX_MUTED);
        gfx_text(g, gx + h * side + inner / 2, gy - pad * 0.4, lab, 0.5);
    }
    double num_fs = fmax(g->fs_min, fmin(g->fs * 0.9, inner * 0.3));
    gfx_font(g, FONT_MONO, num_fs, 0);
    const int numbers = gfx_text_w(g, "0.00") < inner * 0.9 && gfx_line_h(g) < inner * 0.9; /* the values fit in the cells */
    for (int li = 0; li < shown; li++) {
        int l = l0 + li;
        gfx_font(g, FONT_SANS, g->fs * 0.8, l == v->view.layer);
        gfx_color(g, l == v->view.layer ? GFX_ACCENT : GFX_MUTED);
        snprintf(lab, sizeof lab, "L%d", l);
        const int every = side >= lh * 0.9 ? 1 : (int)ceil(lh / side); /* thinned labels, none crowding the selected layer's */
        if (l == v->view.layer || (li % every == 0 && abs(l - v->view.layer) >= every))
            gfx_text_fit(g, gx - pad * 0.5, gy + li * side + inner / 2 + gfx_ascent(g) * 0.4, lab, left, 1);
        for (int h = 0; h < NH; h++) {
            double s = head_score(&sc[l * NH + h], which);
            Rect cell = {gx + h * side, gy + li * side, inner, inner};
            gfx_fill(g, cell, gfx_seq(g, s));
            if (numbers) { /* the value, to the digits shown */
                snprintf(lab, sizeof lab, "%.2f", s);
                gfx_font(g, FONT_MONO, num_fs, 0);
                gfx_color(g, s > 0.55 ? GFX_WHITE : GFX_INK);
                gfx_text(g, cell.x + inner / 2, cell.y + inner / 2 + gfx_ascent(g) * 0.4, lab, 0.5);
            }
            if (viz_head_ablated(v, l, h)) gfx_cross(g, cell);
            if (l == v->view.layer && h == v->view.head)
                gfx_stroke(g, (Rect){cell.x - 1, cell.y - 1, inner + 2, inner + 2}, GFX_ACCENT, fmax(1.5, g->fs * 0.12));
            viz_add_hit(v, HIT_GRID, cell, l, h);
        }
    }
    /* which layers (when not all), the scale and where the scores come from, under the grid */
    double fy = gy + shown * side + pad * 0.5;
    if (note[0]) {
        gfx_font(g, FONT_SANS, g->fs * 0.85, 1);
        gfx_color(g, GFX_ACCENT);
        gfx_text_fit(g, r.x + pad * 2, fy + gfx_ascent(g), note, r.w - 4 * pad, 0);
        fy += gfx_line_h(g) * 1.1;
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    char foot[400];
    snprintf(foot, sizeof foot, "colour: 0 (white) \xE2\x80\xA6 1 (dark) \xC2\xB7 previous and first on %d tokens of storybook text, induction and duplicate on %d "
             "random tokens told twice%s%s", v->run.head_text_tokens, v->run.head_random, v->run.head_off[0] ? " \xC2\xB7 measured with " : "",
             v->run.head_off);
    gfx_text_fit(g, r.x + pad * 2, fy + gfx_ascent(g), foot, r.w - 4 * pad, 0);
    /* the strongest five */
    double lx = fmin(gx + NH * side + pad * 3, r.x + r.w - list_w - pad * 2), ly = y + head_lab;
    gfx_font(g, FONT_SANS, g->fs * 0.85, 1);
    gfx_color(g, GFX_INK);
    gfx_text_fit(g, lx, ly + gfx_ascent(g), "strongest", list_w, 0);
    ly += lh * 1.2;
    int *best = xmalloc(sizeof(int) * (size_t)(L * NH));
    for (int i = 0; i < L * NH; i++) best[i] = i;
    for (int k = 0; k < 8 && k < L * NH; k++) { /* a partial selection sort: the top eight */
        int m = k;
        for (int i = k + 1; i < L * NH; i++)
            if (head_score(&sc[best[i]], which) > head_score(&sc[best[m]], which)) m = i;
        int t = best[k];
        best[k] = best[m], best[m] = t;
        if (ly + lh > r.y + r.h - pad) break;
        snprintf(lab, sizeof lab, "%d.%d  %.2f", best[k] / NH, best[k] % NH, head_score(&sc[best[k]], which));
        gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
        gfx_text_fit(g, lx, ly + gfx_ascent(g), lab, list_w, 0);
        viz_add_hit(v, HIT_GRID, (Rect){lx, ly, list_w, lh}, best[k] / NH, best[k] % NH);
        ly += lh;
    }
    free(best);
    const Hit *hh = viz_hover_hit(v, HIT_GRID);
    if (hh) {
        char tip[160];
        const HeadScores *s = &sc[hh->a * NH + hh->b];
        snprintf(tip, sizeof tip, "head %d.%d: previous %.3f \xC2\xB7 first %.3f \xC2\xB7 induction %.3f \xC2\xB7 duplicate %.3f", hh->a, hh->b, s->previous,
                 s->first, s->induction, s->duplicate);
        gfx_tooltip(g, r, hh->r.x, hh->r.y, tip);
    }
}
