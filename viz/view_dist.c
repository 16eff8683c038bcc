/* view_dist.c - the next-token distribution at the query position: the most likely candidates (the
 * model's probability, and the sampler's after temperature, top-k and top-p), the chosen token, both
 * distributions' entropies, and the whole vocabulary as a sorted curve. Every number comes from
 * viz_prepare (VizDerived), computed once per position and settings, never per frame. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

static int same_settings(const SamplerSettings *a, const SamplerSettings *b) {
    if (a->greedy == 1 || b->greedy == 1) return a->greedy == b->greedy;
    return a->temperature == b->temperature && a->top_k == b->top_k && a->top_p == b->top_p;
}

static void settings_text(const SamplerSettings *s, char *buf, size_t cap) {
    if (s->greedy == 1) snprintf(buf, cap, "greedy");
    else if (s->top_k) snprintf(buf, cap, "T %g, top-k %d, top-p %g", s->temperature, s->top_k, s->top_p);
    else snprintf(buf, cap, "T %g, top-k off, top-p %g", s->temperature, s->top_p);
}

void view_distribution(VizState *v, Gfx *g, Rect r) {
    gfx_panel(g, r);
    if (!v->run.loaded) return;
    const VizDerived *d = &v->run.d;
    const Trace *tr = &v->run.gen.trace;
    int last = viz_n_shown(v) - 1, pos = viz_dist_pos(v), V = v->run.gen.model.cfg.n_vocab;
    const float *probs = viz_tensor(v, TK_PROBS, 0, pos);
    char label[256], title[400], line[512];
    viz_piece_at(v, pos, label, sizeof label);
    snprintf(title, sizeof title, "Next token after \"%s\" (position %d)", label, pos);
    gfx_panel_title(g, r, title, NULL);
    if (!probs || d->epoch < 0 || d->pos != viz_query_pos(v)) {
        gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, r.x + g->fs, r.y + gfx_title_h(g) + g->fs, "computing\xE2\x80\xA6", r.w - 2 * g->fs, 0);
        return;
    }
    const float *samp = d->samp;
    const int *order = d->order;
    int next = viz_next_token(v, pos), at_end = pos == last;
    int picked = at_end && tr->steps[v->run.step].sampler.greedy == -1;
    double pad = g->fs * 0.5, x0 = r.x + pad, x1 = r.x + r.w - pad, y = r.y + gfx_title_h(g);
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double lh = gfx_line_h(g), row = lh * 1.2, asc = gfx_ascent(g);
    /* columns: rank | token | bars | percentages */
    double rank_w = gfx_text_w(g, "000") + pad; /* room for any row number, whatever the font hints */
    gfx_font(g, FONT_SANS, g->fs * 0.85, 1);
    double pct_w = gfx_text_w(g, "100.0% \xE2\x86\x92 100.0%") + pad;
    double tok_w = fmin(r.w * 0.26, g->fs * 8);
    double bar_x = x0 + rank_w + tok_w + pad, bar_w = x1 - pct_w - pad - bar_x;
    if (bar_w < g->fs * 2) { /* a narrow panel: no bars */
        bar_w = 0;
        tok_w = x1 - pct_w - x0 - rank_w - pad;
    }
    /* what fits below the bars: the chosen line, two summary lines, and the curve if room is left */
    double room = r.y + r.h - y - pad;
    int summary = 3, nb = v->view.bars;
    double rows_fit = row > 0 ? (room - (summary + 1) * row) / row : 0; /* a tiny or degenerate panel: none */
    /* presenter mode: fewer rows (five at least) rather than no curve, whose long tail is the point */
    const double curve_need = g->fs * 4 + pad * 2 + lh * 1.2;
    if (g->presenter && row > 0 && (room - (summary + 1) * row - curve_need) / row >= 5 && rows_fit < nb + curve_need / row)
        rows_fit = (room - (summary + 1) * row - curve_need) / row;
    int fit = rows_fit > 1e6 ? 1000000 : rows_fit < 0 || rows_fit != rows_fit ? 0 : (int)rows_fit;
    if (fit < nb) nb = fit;
    if (nb < 0) nb = 0;
    /* with parts of the model switched off: the clean model's probabilities beside the ablated ones */
    int compare = viz_clean_prob(v, pos, 0) >= 0;
    const char *cur, *oth; /* "ablated" and "clean", or "A" and "B" */
    viz_run_names(v, &cur, &oth);
    char bar_head[96], pct_head[64];
    snprintf(bar_head, sizeof bar_head, v->run.other_kind == OTHER_TEXT ? "bar: text %s \xC2\xB7 outline: text %s" : "bar: %s model \xC2\xB7 outline: %s model", cur, oth);
    snprintf(pct_head, sizeof pct_head, "%s \xE2\x86\x92 %s", oth, cur);
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    double hy = y + asc;
    if (nb > 0) {
        gfx_text_fit(g, x0, hy, "#", rank_w, 0);
        gfx_text_fit(g, x0 + rank_w, hy, "token", tok_w, 0);
        if (bar_w > 0) { /* the long form where it fits, else a short one: never a word cut in half */
            const char *head = compare ? bar_head : "bar: model \xC2\xB7 outline: sampled from";
            if (!compare && gfx_text_w(g, head) > bar_w) head = "bar: model \xC2\xB7 outline: sampler";
            if (!compare && gfx_text_w(g, head) > bar_w) head = "model | sampler";
            gfx_text_fit(g, bar_x, hy, head, bar_w, 0);
        }
        gfx_text_fit(g, x1, hy, compare ? pct_head : "model \xE2\x86\x92 sampled", pct_w, 1);
        y += row;
    }
    for (int i = 0; i < nb && i < V; i++) {
        int id = order[i];
        Rect rr = {r.x + pad * 0.5, y, r.w - pad, row};
        int hl = 0;
        for (int j = 0; j < v->view.n_hl_cands; j++) hl |= v->view.hl_cands[j] == id;
        int is_next = id == next;
        if (hl || viz_hovered(v, HIT_CANDIDATE, id, 1) || is_next)
            gfx_color_a(g, hl ? GFX_HILITE : is_next ? (picked ? GFX_PICKED : GFX_CHOSEN) : GFX_ACCENT, hl ? 0.35 : 0.12),
                cairo_rectangle(g->cr, rr.x, rr.y, rr.w, rr.h), cairo_fill(g->cr);
        double base = y + (row - lh) / 2 + asc;
        snprintf(line, sizeof line, "%d", i + 1);
        gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, x0 + rank_w - pad, base, line, rank_w - pad, 1);
        viz_piece(v, id, label, sizeof label);
        gfx_font(g, FONT_MONO, g->fs * 0.85, is_next);
        gfx_color(g, samp[id] > 0 ? GFX_INK : GFX_MUTED);
        gfx_text_fit(g, x0 + rank_w, base, label, tok_w, 0);
        if (bar_w > 0) {
            Rgb fill = is_next ? (picked ? GFX_PICKED : GFX_CHOSEN) : samp[id] > 0 ? GFX_ACCENT : (Rgb){0.75, 0.75, 0.78};
            double bh = row * 0.62, by = y + (row - bh) / 2;
            gfx_fill(g, (Rect){bar_x, by, fmax(bar_w * probs[id], 1), bh}, fill);
            double outline = compare ? viz_clean_prob(v, pos, id) : samp[id];
            if (outline > 0) gfx_stroke(g, (Rect){bar_x, by, fmax(bar_w * outline, 1), bh}, GFX_INK, fmax(1, g->fs * 0.08));
            if (is_next) { /* the marker after the longer bar, when it fits before the numbers */
                const char *mark = !at_end ? "\xE2\x97\x80 came next" : picked ? "\xE2\x97\x80 picked" : "\xE2\x97\x80 chosen";
                gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
                double mx = bar_x + bar_w * fmax(probs[id], samp[id]) + pad * 0.5;
                if (mx + gfx_text_w(g, mark) <= bar_x + bar_w) {
                    gfx_color(g, picked ? GFX_PICKED : GFX_CHOSEN);
                    gfx_text(g, mx, base, mark, 0);
                }
            }
        }
        if (compare) snprintf(line, sizeof line, "%.1f%% \xE2\x86\x92 %.1f%%", 100 * viz_clean_prob(v, pos, id), 100 * probs[id]);
        else if (samp[id] > 0) snprintf(line, sizeof line, "%.1f%% \xE2\x86\x92 %.1f%%", 100 * probs[id], 100 * samp[id]);
        else snprintf(line, sizeof line, "%.1f%% \xE2\x86\x92 cut", 100 * probs[id]);
        gfx_font(g, FONT_SANS, g->fs * 0.85, is_next);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, x1, base, line, pct_w, 1);
        viz_add_hit(v, HIT_CANDIDATE, rr, id, at_end); /* b: a click picks it (only at the step's end) */
        y += row;
    }
    /* the chosen token, both entropies, what the sampler keeps */
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    y += row * 0.2;
    if (next >= 0) {
        viz_piece(v, next, label, sizeof label);
        const TraceStep *st = &tr->steps[v->run.step];
        char how[96] = "";
        if (at_end && picked) snprintf(how, sizeof how, " \xC2\xB7 picked by hand");
        else if (at_end && !same_settings(&st->sampler, &v->run.gen.sampler)) {
            char s1[64];
            settings_text(&st->sampler, s1, sizeof s1);
            snprintf(how, sizeof how, " \xC2\xB7 drawn with %s", s1);
        }
        if (compare) { /* how much the ablation (or the other text) moved it */
            double cp = viz_clean_prob(v, pos, next);
            char ncp[32], np_[32];
            snprintf(how, sizeof how, " (%s %s,", oth, viz_num4(cp, 0, ncp, sizeof ncp));
            snprintf(how + strlen(how), sizeof how - strlen(how), " \xCE\x94 log p %+.2f)", log(fmax(probs[next], 1e-30)) - log(fmax(cp, 1e-30)));
            snprintf(line, sizeof line, "%s \"%s\": rank %d, p %s%s", at_end ? "chosen" : "came next", label, d->chosen_rank + 1,
                     viz_num4(probs[next], 0, np_, sizeof np_), how);
        } else {
            char np_[32];
            snprintf(line, sizeof line, "%s \"%s\" (id %d): rank %d, model p = %s%s", at_end ? "chosen" : "came next", label, next,
                     d->chosen_rank + 1, viz_num4(probs[next], 0, np_, sizeof np_), how);
        }
        gfx_color(g, picked ? GFX_PICKED : GFX_INK);
        gfx_text_fit(g, x0, y + asc, line, x1 - x0, 0);
        y += row;
    }
    gfx_color(g, GFX_INK);
    snprintf(line, sizeof line, "entropy: model %.2f nats \xC2\xB7 sampled-from (%s) %.2f nats", d->entropy,
             v->run.gen.sampler.greedy == 1 ? "greedy" : "after T, top-k, top-p", d->samp_entropy);
    gfx_text_fit(g, x0, y + asc, line, x1 - x0, 0);
    y += row;
    snprintf(line, sizeof line, "%d of %d tokens can be drawn, holding %.1f%% of the model's probability", d->kept, V,
             100 * d->kept_mass);
    if (gfx_text_w(g, line) > x1 - x0) /* the same numbers, shorter, rather than cut */
        snprintf(line, sizeof line, "%d of %d tokens can be drawn (%.1f%% of the probability)", d->kept, V, 100 * d->kept_mass);
    gfx_text_fit(g, x0, y + asc, line, x1 - x0, 0);
    y += row;
    /* the whole vocabulary, sorted, log-log: one point per pixel column (no per-frame sort) */
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    double ax_w = gfx_text_w(g, "1e-8") + pad;
    Rect c = {x0 + ax_w, y + pad, x1 - x0 - ax_w, r.y + r.h - y - pad * 2 - lh * 1.2};
    if (c.h < g->fs * 2.5 || c.w < g->fs * 6) return;
    gfx_fill(g, c, (Rgb){0.98, 0.98, 0.99});
    double lv = log10((double)V), lo = -8;
    int cols = (int)c.w, kept_col = -1;
    cairo_set_line_width(g->cr, fmax(1.2, g->fs * 0.1));
    for (int px = 0; px <= cols; px++) {
        int rank = (int)(pow(10, lv * px / cols) - 1);
        if (rank >= V) rank = V - 1;
        double p = d->curve[rank], yy = c.y + c.h * (log10(fmax(p, 1e-8)) / lo);
        if (px == 0) cairo_move_to(g->cr, c.x, yy);
        else cairo_line_to(g->cr, c.x + px, yy);
        if (kept_col < 0 && rank >= d->kept) kept_col = px;
    }
    gfx_color(g, GFX_ACCENT);
    cairo_stroke(g->cr);
    if (d->kept < V && kept_col >= 0) {
        gfx_color_a(g, GFX_MUTED, 0.18);
        cairo_rectangle(g->cr, c.x + kept_col, c.y, c.w - kept_col, c.h);
        cairo_fill(g->cr);
        gfx_color(g, GFX_CHOSEN);
        cairo_move_to(g->cr, c.x + kept_col, c.y);
        cairo_line_to(g->cr, c.x + kept_col, c.y + c.h);
        cairo_stroke(g->cr);
    }
    gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
    gfx_color(g, GFX_MUTED);
    gfx_text_fit(g, c.x - pad * 0.5, c.y + asc, "1", ax_w - pad * 0.5, 1);
    gfx_text_fit(g, c.x - pad * 0.5, c.y + c.h, "1e-8", ax_w, 1);
    double ly = c.y + c.h + gfx_ascent(g) + pad * 0.3;
    double lw = gfx_text_fit(g, c.x, ly, "rank 1", c.w * 0.3, 0);
    snprintf(line, sizeof line, "rank %d (both axes log)", V);
    gfx_text_fit(g, c.x + c.w, ly, line, c.w - lw - pad, 1);
}
