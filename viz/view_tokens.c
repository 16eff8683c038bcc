/* view_tokens.c - the token strip (chips of the prompt and the generated text) and the tokens view
 * (the strip above a table of position, piece, id and bytes). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

static int highlighted_token(const VizState *v, int p) {
    for (int i = 0; i < v->view.n_hl_tokens; i++)
        if (v->view.hl_tokens[i] == p) return 1;
    return 0;
}

void view_token_strip(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const Trace *tr = &v->run.gen.trace;
    int n = viz_n_shown(v), q = viz_query_pos(v), prompt_len = viz_prompt_len(v);
    int chosen = tr->steps[v->run.step].chosen;
    int total = n + (chosen >= 0);
    gfx_font(g, FONT_MONO, g->fs * 0.95, 0);
    /* comparing with text B: each chip holds A's token above B's at the same position */
    const Trace *B = v->run.other && v->run.other_kind == OTHER_TEXT ? v->run.other : NULL;
    double pad = g->fs * 0.4, h = gfx_line_h(g) * (B ? 2 : 1) + pad, gap = g->fs * 0.3, arrow = g->fs * 1.3;
    char label_b[256];
    double x0 = r.x + g->fs * 0.5, maxx = r.x + r.w - g->fs * 0.5;
    double *xs = xmalloc(sizeof(double) * (size_t)(total + 1)), *ws = xmalloc(sizeof(double) * (size_t)(total + 1));
    int *row = xmalloc(sizeof(int) * (size_t)(total + 1));
    char label[256];
    double x = x0;
    int rows = 1;
    for (int p = 0; p < total; p++) {
        if (p < n) viz_piece_at(v, p, label, sizeof label);
        else viz_piece(v, chosen, label, sizeof label);
        double tw = gfx_text_w(g, label);
        if (B && p < B->n_pos) viz_piece(v, B->pos[p].token, label_b, sizeof label_b), tw = fmax(tw, gfx_text_w(g, label_b));
        double w = fmin(tw + 2 * pad, (maxx - x0) * 0.4) + (p == n ? arrow : 0);
        if (x + w > maxx && x > x0) x = x0, rows++;
        xs[p] = x, ws[p] = w, row[p] = rows - 1;
        x += w + gap;
    }
    int fit = (int)((r.h - g->fs * 0.5) / (h + gap));
    if (fit < 1) fit = 1;
    /* the rows shown: the last ones, or those holding the query */
    int last_row = rows - 1, qrow = row[q < total ? q : 0];
    int first_row = last_row - fit + 1;
    if (qrow < first_row) first_row = qrow;
    if (first_row < 0) first_row = 0;
    /* an ellipsis chip at the start of the first shown row when earlier rows are hidden: the row's
     * first chips give it their place */
    int hidden_to = -1; /* positions < hidden_to are not drawn */
    char ell[64] = "";
    if (first_row > 0) {
        int p0 = 0;
        while (row[p0] < first_row) p0++;
        gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
        int p1 = p0;
        double need;
        do { /* hide chips until the "... N earlier" chip fits in their place */
            snprintf(ell, sizeof ell, "\xE2\x80\xA6 %d earlier", p1 + 1);
            need = gfx_text_w(g, ell) + 2 * pad;
            p1++;
        } while (p1 < total && row[p1] == first_row && xs[p1] - x0 < need + gap && p1 != q);
        hidden_to = p1;
        snprintf(ell, sizeof ell, "\xE2\x80\xA6 %d earlier", hidden_to);
        if (hidden_to > q) hidden_to = q; /* never hide the query */
    }
    double y0 = r.y + g->fs * 0.3;
    if (ell[0]) {
        gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, x0 + pad, y0 + h / 2 + gfx_ascent(g) * 0.4, ell, (hidden_to < total ? xs[hidden_to] : maxx) - x0 - pad, 0);
    }
    for (int p = 0; p < total; p++) {
        if (row[p] < first_row || row[p] >= first_row + fit || (ell[0] && p < hidden_to)) continue;
        int id = p < n ? tr->pos[p].token : chosen;
        Rect c = {xs[p], y0 + (row[p] - first_row) * (h + gap), ws[p], h};
        int picked = viz_picked(v, p);
        gfx_fill(g, c, p == n ? GFX_WHITE : p < prompt_len ? GFX_PROMPT : GFX_GENERATED);
        if (highlighted_token(v, p)) gfx_stroke(g, c, GFX_HILITE, g->fs * 0.3);
        Rgb edge = p == q ? GFX_ACCENT : picked ? GFX_PICKED : p == n ? GFX_CHOSEN : GFX_RULE;
        double lw = p == q || p == n || picked ? g->fs * 0.16 : 1;
        if (p == n) {
            double dash[] = {g->fs * 0.4, g->fs * 0.25};
            cairo_set_dash(g->cr, dash, 2, 0);
        }
        gfx_stroke(g, c, edge, lw);
        cairo_set_dash(g->cr, NULL, 0, 0);
        if (picked) /* picked by hand: a purple bar under the chip, whatever frame it has */
            gfx_fill(g, (Rect){c.x, c.y + c.h - g->fs * 0.22, c.w, g->fs * 0.22}, GFX_PICKED);
        double tx = c.x + pad;
        double base = c.y + pad / 2 + gfx_ascent(g);
        if (p == n) {
            gfx_font(g, FONT_SANS, g->fs * 0.95, 1);
            gfx_color(g, picked ? GFX_PICKED : GFX_CHOSEN);
            gfx_text(g, c.x + pad * 0.6, base, "\xE2\x86\x92", 0);
            tx += arrow;
        }
        gfx_font(g, FONT_MONO, g->fs * 0.95, 0);
        base = c.y + pad / 2 + gfx_ascent(g);
        if (p < n) viz_piece_at(v, p, label, sizeof label);
        else viz_piece(v, id, label, sizeof label);
        gfx_color(g, p == n ? (picked ? GFX_PICKED : GFX_CHOSEN) : GFX_INK);
        gfx_text_fit(g, tx, base, label, c.x + c.w - tx - pad * 0.5, 0);
        if (B && p < B->n_pos && p < n) { /* B's token below: red where the texts differ */
            viz_piece(v, B->pos[p].token, label_b, sizeof label_b);
            gfx_color(g, B->pos[p].token == id ? GFX_MUTED : GFX_ERROR);
            gfx_text_fit(g, tx, base + gfx_line_h(g), label_b, c.x + c.w - tx - pad * 0.5, 0);
        }
        viz_add_hit(v, p < n ? HIT_TOKEN : HIT_NONE, c, p, id);
    }
    const Hit *hh = viz_hover_hit(v, HIT_TOKEN);
    if (hh) { /* position, id, and whether it was picked by hand */
        char tip[96];
        snprintf(tip, sizeof tip, "position %d \xC2\xB7 id %d%s", hh->a, hh->b, viz_picked(v, hh->a) ? " \xC2\xB7 picked by hand" : "");
        gfx_tooltip(g, r, hh->r.x, hh->r.y + hh->r.h + g->fs * 1.6, tip);
    }
    free(xs);
    free(ws);
    free(row);
}

void view_tokens(VizState *v, Gfx *g, Rect r) {
    double strip_h = fmin(r.h * 0.4, g->fs * 5.4);
    view_token_strip(v, g, (Rect){r.x, r.y, r.w, strip_h});
    Rect t = {r.x, r.y + strip_h + g->fs * 0.4, r.w, r.h - strip_h - g->fs * 0.4};
    gfx_panel(g, t);
    const Trace *tr = &v->run.gen.trace;
    int n = viz_n_shown(v), q = viz_query_pos(v), prompt_len = viz_prompt_len(v);
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double lh = gfx_line_h(g) * 1.25;
    double top = t.y + gfx_title_h(g);
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double colw_min = g->fs * 24;
    int cols = (int)((t.w - g->fs) / colw_min);
    if (cols < 1) cols = 1;
    if (cols > 3) cols = 3;
    int rows_fit = (int)((t.y + t.h - top - g->fs * 0.4) / lh) - 1; /* one row for the column heads */
    if (rows_fit < 1) return;
    if (cols > (n + rows_fit - 1) / rows_fit) cols = (n + rows_fit - 1) / rows_fit;
    if (cols < 1) cols = 1;
    int cap = rows_fit * cols, first = 0;
    if (n > cap) { /* a window of positions around the query; the first row says what is hidden */
        first = q - cap / 2;
        if (first > n - cap) first = n - cap;
        if (first < 0) first = 0;
    }
    double cw = (t.w - g->fs) / cols;
    char label[256], hex[256], num[64];
    for (int c = 0; c < cols; c++) {
        double x = t.x + g->fs * 0.6 + c * cw, y = top + gfx_ascent(g);
        gfx_font(g, FONT_SANS, g->fs * 0.85, 1);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, x, y, "pos", cw * 0.14, 0);
        gfx_text_fit(g, x + cw * 0.15, y, "piece", cw * 0.3, 0);
        gfx_text_fit(g, x + cw * 0.47, y, "id", cw * 0.14, 0);
        gfx_text_fit(g, x + cw * 0.62, y, "bytes (hex)", cw * 0.36, 0);
    }
    for (int i = 0; i < cap && first + i < n; i++) {
        int p = first + i, c = i / rows_fit, rr = i % rows_fit;
        double x = t.x + g->fs * 0.6 + c * cw, y = top + (rr + 1) * lh + gfx_ascent(g);
        if (p == q || highlighted_token(v, p))
            gfx_color_a(g, p == q ? GFX_ACCENT : GFX_HILITE, p == q ? 0.12 : 0.35),
                cairo_rectangle(g->cr, x - g->fs * 0.3, y - gfx_ascent(g) - lh * 0.1, cw - g->fs * 0.4, lh),
                cairo_fill(g->cr);
        int id = tr->pos[p].token, len;
        const char *b = tok_bytes(v->run.gen.tok, id, &len);
        viz_piece_at(v, p, label, sizeof label);
        size_t k = 0;
        for (int j = 0; j < len && k + 4 < sizeof hex; j++) k += (size_t)snprintf(hex + k, sizeof hex - k, "%s%02x", j ? " " : "", (unsigned char)b[j]);
        hex[k] = 0;
        gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
        gfx_color(g, p < prompt_len ? GFX_MUTED : GFX_CHOSEN);
        snprintf(num, sizeof num, "%d", p);
        gfx_text_fit(g, x, y, num, cw * 0.14, 0);
        gfx_color(g, GFX_INK);
        gfx_font(g, FONT_MONO, g->fs * 0.85, 0);
        gfx_text_fit(g, x + cw * 0.15, y, label, cw * 0.3, 0);
        snprintf(num, sizeof num, "%d", id);
        gfx_text_fit(g, x + cw * 0.47, y, num, cw * 0.14, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, x + cw * 0.62, y, hex, cw * 0.36, 0);
        viz_add_hit(v, HIT_TOKEN, (Rect){x, y - gfx_ascent(g), cw - g->fs, lh}, p, id);
    }
    char title[160];
    if (n > cap)
        snprintf(title, sizeof title, "Tokens %d\xE2\x80\x93%d of %d: position, piece, id and bytes", first,
                 first + cap - 1 < n - 1 ? first + cap - 1 : n - 1, n);
    else
        snprintf(title, sizeof title, "Tokens: position, piece, id and the bytes each stands for");
    gfx_panel_title(g, t, title, NULL);
}
