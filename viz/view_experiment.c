/* view_experiment.c - the last experiment run from the viewer or a lesson: a direct logit attribution
 * (a layers x heads heatmap of contributions, the attention biases and MLPs beside it, the largest parts
 * ranked, and the sum that gives the logit) or an activation-patching sweep (layers x positions, or
 * layers x heads, of how much of the clean prediction each patch restores). The numbers come from
 * src/attribution.c and src/patching.c; this file only draws them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vizint.h"

void draw_patch_sweep(Gfx *g, Rect r, const PatchSweep *s, const Tokenizer *tok, const int *clean, int n_head, const char *title,
                      const char *footer) {
    gfx_panel(g, r);
    gfx_panel_title(g, r, title, "red: restored (1 = all) \xC2\xB7 blue: the other way");
    double pad = g->fs * 0.5, top = r.y + gfx_title_h(g) + pad * 0.5;
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double foot_h = gfx_line_h(g) * 1.3;
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    char label[256], rl[32];
    snprintf(rl, sizeof rl, s->what == PATCH_HEAD ? "%d.%d" : "h.%d", s->what == PATCH_HEAD ? s->rows / n_head - 1 : s->rows - 1, n_head - 1);
    double lab_w = gfx_text_w(g, rl) + pad * 1.5, lh = gfx_line_h(g);
    /* the column labels (positions and the clean tokens) need a band below the grid */
    double band = 0;
    for (int c = 0; c < s->cols && s->cols > 1; c++) {
        tok_show(tok, clean[c], TOK_SHOW_SCREEN, label, sizeof label);
        char full[300];
        snprintf(full, sizeof full, "%d %s", c, label);
        band = fmax(band, gfx_text_w(g, full));
    }
    band = s->cols > 1 ? fmin(band + pad, g->fs * 9) : 0;
    double gw = r.w - lab_w - 2 * pad, gh = r.y + r.h - top - band - foot_h - pad;
    if (gw < g->fs * 2 || gh < g->fs * 2) return;
    double cw = s->cols > 1 ? gw / s->cols : fmin(gw, g->fs * 10), ch = fmin(gh / s->rows, g->fs * 2.2);
    if (s->cols > 1 && cw > ch * 4) cw = ch * 4;
    double x0 = r.x + pad + lab_w, y0 = top;
    int numbers = cw >= gfx_text_w(g, "-0.00") + 4 && ch >= lh * 0.95;
    for (int i = 0; i < s->rows; i++) {
        for (int c = 0; c < s->cols; c++) {
            double v = s->restored[i * s->cols + c];
            Rect cell = {x0 + c * cw, y0 + i * ch, cw, ch};
            gfx_fill(g, cell, gfx_div(g, v > 1 ? 1 : v < -1 ? -1 : v));
            if (numbers) {
                char num[32];
                snprintf(num, sizeof num, "%.2f", v);
                gfx_color(g, fabs(v) > 0.6 ? GFX_WHITE : GFX_INK);
                gfx_text_fit(g, cell.x + cw / 2, cell.y + ch / 2 + gfx_ascent(g) * 0.4, num, cw - 2, 0.5);
            }
        }
        int every = ch >= lh * 1.3 ? 1 : (int)ceil(lh * 1.3 / ch);
        if (i % every) continue;
        if (s->what == PATCH_HEAD) snprintf(rl, sizeof rl, "%d.%d", i / n_head, i % n_head);
        else snprintf(rl, sizeof rl, "h.%d", i);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, x0 - pad * 0.4, y0 + i * ch + ch / 2 + gfx_ascent(g) * 0.4, rl, lab_w - pad * 0.5, 1);
    }
    int every = cw >= lh * 1.05 ? 1 : (int)ceil(lh * 1.05 / cw);
    for (int c = 0; c < s->cols && s->cols > 1; c += every) {
        tok_show(tok, clean[c], TOK_SHOW_SCREEN, label, sizeof label);
        char full[300];
        snprintf(full, sizeof full, "%d %s", c, label);
        gfx_color(g, GFX_INK);
        gfx_text_up(g, x0 + c * cw + cw / 2 + gfx_ascent(g) * 0.4, y0 + s->rows * ch + pad * 0.5, full, band - pad * 0.5);
    }
    if (s->cols == 1) {
        gfx_font(g, FONT_SANS, g->fs * 0.8, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, x0 + cw + pad, y0 + gfx_ascent(g), "each head patched at every position at once", r.x + r.w - x0 - cw - 2 * pad, 0);
    }
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    gfx_color(g, GFX_MUTED);
    gfx_text_fit(g, r.x + pad, r.y + r.h - pad * 0.6 - gfx_line_h(g) * 0.25, footer, r.w - 2 * pad, 0);
}

/* One part's name and contribution, for the ranked list. */
typedef struct {
    char name[32];
    double c;
} Part;

static int by_size(const void *a, const void *b) {
    double x = fabs(((const Part *)a)->c), y = fabs(((const Part *)b)->c);
    return x < y ? 1 : x > y ? -1 : 0;
}

static void draw_attribution(VizState *v, Gfx *g, Rect r) {
    const VizExperiment *e = &v->run.exp;
    const Attribution *a = &e->attr;
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const int L = c->n_layer, NH = c->n_head;
    char title[600], tok[300], at[128];
    tok_show(v->run.gen.tok, e->tokens[a->pos], TOK_SHOW_SCREEN, at, sizeof at);
    if (a->minus < 0) {
        tok_show(v->run.gen.tok, a->token, TOK_SHOW_SCREEN, tok, sizeof tok);
        snprintf(title, sizeof title, "Direct logit attribution: what pushes \"%s\" after position %d \"%s\"", tok, a->pos, at);
    } else {
        metric_name(&e->metric, v->run.gen.tok, TOK_SHOW_SCREEN, tok, sizeof tok);
        snprintf(title, sizeof title, "Direct logit attribution of %s after position %d \"%s\"", tok, a->pos, at);
    }
    gfx_panel(g, r);
    gfx_panel_title(g, r, title, "red: towards it \xC2\xB7 blue: away");
    double pad = g->fs * 0.5, top = r.y + gfx_title_h(g) + pad * 0.5;
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    double lh = gfx_line_h(g), foot_h = lh * 2.4;
    /* the ranked list on the right */
    int n_parts = L * NH + 2 * L + 1;
    Part *parts = xmalloc(sizeof(Part) * (size_t)n_parts);
    int k = 0;
    for (int l = 0; l < L; l++) {
        for (int h = 0; h < NH; h++) snprintf(parts[k].name, sizeof parts[k].name, "head %d.%d", l, h), parts[k++].c = a->heads[l * NH + h];
        snprintf(parts[k].name, sizeof parts[k].name, "attn bias %d", l), parts[k++].c = a->attn_bias[l];
        snprintf(parts[k].name, sizeof parts[k].name, "mlp %d", l), parts[k++].c = a->mlp[l];
    }
    snprintf(parts[k].name, sizeof parts[k].name, "embedding"), parts[k++].c = a->embed;
    qsort(parts, (size_t)k, sizeof(Part), by_size);
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    double list_w = fmin(r.w * 0.32, gfx_text_w(g, "attn bias 47  +00.000") + 2 * pad);
    double lx = r.x + r.w - list_w - pad, ly = top;
    gfx_font(g, FONT_SANS, g->fs * 0.8, 1);
    gfx_color(g, GFX_INK);
    gfx_text_fit(g, lx, ly + gfx_ascent(g), "largest parts", list_w, 0);
    ly += gfx_line_h(g) * 1.1;
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    double llh = gfx_line_h(g);
    int rows = (int)((r.y + r.h - foot_h - ly) / llh);
    char line[800];
    for (int i = 0; i < k && i < rows; i++) {
        snprintf(line, sizeof line, "%-12s %+8.3f", parts[i].name, parts[i].c);
        gfx_color(g, parts[i].c >= 0 ? (Rgb){0.62, 0.10, 0.10} : (Rgb){0.10, 0.25, 0.62});
        gfx_text_fit(g, lx, ly + i * llh + gfx_ascent(g), line, list_w, 0);
    }
    free(parts);
    /* the heatmap: layers x (heads, attn bias, mlp), one diverging scale up to the largest part */
    double scale = 1e-9;
    for (int i = 0; i < L * NH; i++) scale = fmax(scale, fabs(a->heads[i]));
    for (int l = 0; l < L; l++) scale = fmax(scale, fmax(fabs(a->attn_bias[l]), fabs(a->mlp[l])));
    gfx_font(g, FONT_MONO, g->fs * 0.8, 0);
    char rl[32];
    snprintf(rl, sizeof rl, "h.%d", L - 1);
    double lab_w = gfx_text_w(g, rl) + pad, head_h = lh * 1.2;
    double gx = r.x + pad + lab_w, gy = top + head_h, gw = lx - gx - 2 * pad, gh = r.y + r.h - foot_h - gy - pad * 0.5;
    int cols = NH + 2;
    double cw = gw / (cols + 0.5), ch = fmin(gh / L, g->fs * 2.2);
    if (cw > ch * 3) cw = ch * 3;
    if (cw < 2 || ch < 1) return;
    int numbers = cw >= gfx_text_w(g, "-0.00") + 4 && ch >= gfx_line_h(g) * 0.95;
    gfx_font(g, FONT_SANS, g->fs * 0.75, 0);
    gfx_color(g, GFX_MUTED);
    int every = cw >= gfx_text_w(g, "00") + 4 ? 1 : (int)ceil((gfx_text_w(g, "00") + 4) / cw);
    for (int h = 0; h < NH; h += every) {
        snprintf(rl, sizeof rl, "%d", h);
        gfx_text_fit(g, gx + h * cw + cw / 2, top + gfx_ascent(g), rl, cw * every, 0.5);
    }
    double bx = gx + (NH + 0.5) * cw;
    gfx_text_fit(g, bx + cw / 2, top + gfx_ascent(g), "bias", cw * 1.1, 0.5);
    gfx_text_fit(g, bx + cw * 1.5, top + gfx_ascent(g), "mlp", cw * 1.1, 0.5);
    gfx_font(g, FONT_MONO, g->fs * 0.75, 0);
    int lab_every = ch >= gfx_line_h(g) * 1.3 ? 1 : (int)ceil(gfx_line_h(g) * 1.3 / ch);
    for (int l = 0; l < L; l++) {
        for (int col = 0; col < cols; col++) {
            double val = col < NH ? a->heads[l * NH + col] : col == NH ? a->attn_bias[l] : a->mlp[l];
            Rect cell = {col < NH ? gx + col * cw : bx + (col - NH) * cw, gy + l * ch, cw, ch};
            gfx_fill(g, (Rect){cell.x, cell.y, cell.w - 1, cell.h - 1}, gfx_div(g, val / scale));
            if (col < NH && viz_head_ablated(v, l, col)) gfx_cross(g, cell);
            if (numbers) {
                snprintf(line, sizeof line, "%.2f", val);
                gfx_color(g, fabs(val / scale) > 0.6 ? GFX_WHITE : GFX_INK);
                gfx_text_fit(g, cell.x + cw / 2, cell.y + ch / 2 + gfx_ascent(g) * 0.4, line, cw - 2, 0.5);
            }
        }
        if (l % lab_every) continue;
        snprintf(rl, sizeof rl, "h.%d", l);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, gx - pad * 0.4, gy + l * ch + ch / 2 + gfx_ascent(g) * 0.4, rl, lab_w, 1);
    }
    /* the sum, which a calculator can check against the parts above */
    double heads = 0, biases = 0, mlps = 0;
    for (int i = 0; i < L * NH; i++) heads += a->heads[i];
    for (int l = 0; l < L; l++) biases += a->attn_bias[l], mlps += a->mlp[l];
    gfx_font(g, FONT_SANS, g->fs * 0.85, 0);
    gfx_color(g, GFX_INK);
    double fy = r.y + r.h - foot_h + gfx_ascent(g);
    snprintf(line, sizeof line, "logit %.3f \xE2\x89\x88 embedding %+.3f, heads %+.3f, attention biases %+.3f, MLPs %+.3f, final bias %+.3f",
             a->logit, a->embed, heads, biases, mlps, a->final_bias);
    gfx_text_fit(g, r.x + pad, fy, line, r.w - 2 * pad, 0);
    gfx_color(g, GFX_MUTED);
    snprintf(line, sizeof line, "(each rounded to 0.001; parts through the final LayerNorm with its scale frozen, their exact sum %.3f; colour scale \xC2\xB1%.2f%s%.300s)",
             a->sum, scale, v->run.gen.trace.interventions[0] ? "; ablated: " : "", v->run.gen.trace.interventions);
    gfx_text_fit(g, r.x + pad, fy + lh * 1.1, line, r.w - 2 * pad, 0);
}

void view_experiment(VizState *v, Gfx *g, Rect r) {
    const VizExperiment *e = &v->run.exp;
    if (!v->run.loaded || e->kind == EXP_NONE) {
        v->ui.placeholder = 1;
        gfx_panel(g, r);
        gfx_panel_title(g, r, "Experiment", NULL);
        double pad = g->fs * 0.5, y = r.y + gfx_title_h(g) + pad;
        gfx_font(g, FONT_SANS, g->fs * 0.9, 0);
        static const char *HOW[] = {
            "Nothing has been run yet. Type : and one of",
            "attribute \xE2\x80\x94 which heads and MLPs push the next token at the query position",
            "compare TEXT, then patch resid (or mlp, heads) \xE2\x80\x94 which activations of this text restore its",
            "    prediction when put into TEXT's run (activation patching; the texts need as many tokens)",
            "docs/experiments.md explains both.",
        };
        for (size_t i = 0; i < sizeof HOW / sizeof HOW[0]; i++) {
            gfx_color(g, i == 0 ? GFX_INK : GFX_MUTED);
            gfx_text_fit(g, r.x + pad, y + gfx_ascent(g), HOW[i], r.w - 2 * pad, 0);
            y += gfx_line_h(g) * 1.2;
        }
        return;
    }
    if (e->kind == EXP_ATTRIBUTION) {
        draw_attribution(v, g, r);
        return;
    }
    const PatchSweep *s = &e->sweep;
    char tgt[300], title[600], foot[800];
    metric_name(&e->metric, v->run.gen.tok, TOK_SHOW_SCREEN, tgt, sizeof tgt);
    snprintf(title, sizeof title, "Activation patching: how much of %s each %s restores", tgt,
             s->what == PATCH_RESID ? "residual stream (after a layer, at a position)" : s->what == PATCH_MLP ? "MLP output (layer, position)"
                                                                                    : "head's output");
    snprintf(foot, sizeof foot, "restored = (patched \xE2\x88\x92 corrupted) \xC3\xB7 (clean \xE2\x88\x92 corrupted) \xC2\xB7 %s: clean %.3f "
             "(this text), corrupted %.3f (text B)", tgt, s->clean_logit, s->corrupt_logit);
    if (s->too_close) { /* a ratio of noise: say so, no map */
        v->ui.placeholder = 1;
        gfx_panel(g, r);
        gfx_panel_title(g, r, title, "");
        double pad = g->fs, y = r.y + gfx_title_h(g) + pad;
        char line[900];
        snprintf(line, sizeof line, "Nothing to restore: %s is %.3f in this text and %.3f in text B, less than %.1f apart.", tgt,
                 s->clean_logit, s->corrupt_logit, METRIC_MIN_SPAN);
        gfx_font(g, FONT_SANS, g->fs * 1.1, 1);
        gfx_color(g, GFX_ERROR);
        gfx_text_fit(g, r.x + pad, y + gfx_ascent(g), line, r.w - 2 * pad, 0);
        y += gfx_line_h(g) * 1.5;
        gfx_font(g, FONT_SANS, g->fs, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, r.x + pad, y + gfx_ascent(g), "Every patch would restore a share of almost nothing: the map would be noise. Choose a text B", r.w - 2 * pad, 0);
        y += gfx_line_h(g) * 1.2;
        gfx_text_fit(g, r.x + pad, y + gfx_ascent(g), "that changes the prediction, or compare two answers: patch resid \" right\"-\" wrong\".", r.w - 2 * pad, 0);
        return;
    }
    draw_patch_sweep(g, r, s, v->run.gen.tok, e->tokens, v->run.gen.model.cfg.n_head, title, foot);
}
