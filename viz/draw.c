/* draw.c - the layout: where each view goes on the canvas, in the normal window (every view) and in
 * presenter mode (the view being talked about fills the screen), plus the header, caption, help and
 * message boxes that frame them. Sizes come from the text sizes of gfx.h, not from constants. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viz.h"
#include "vizint.h"

static void draw_view(VizState *v, Gfx *g, ViewName which, Rect r, int alone) {
    viz_add_hit(v, HIT_PANEL, r, which, 0);
    switch (which) {
    case VIEW_TOKENS: view_tokens(v, g, r); break;
    case VIEW_ATTENTION: view_attention(v, g, r, alone); break;
    case VIEW_GRID: view_grid(v, g, r); break;
    case VIEW_DIST: view_distribution(v, g, r); break;
    case VIEW_BLOCK: view_block(v, g, r); break;
    case VIEW_PIPELINE: view_pipeline(v, g, r); break;
    case VIEW_EXPERIMENT: view_experiment(v, g, r); break;
    case VIEW_HEADS: view_heads(v, g, r); break;
    case VIEW_VALUES: view_values(v, g, r); break;
    case VIEW_LINES: view_lines(v, g, r); break;
    default: break;
    }
}

void viz_draw(VizState *v, cairo_t *cr, double W, double H) {
    v->ui.n_hits = 0;
    v->ui.placeholder = 0;
    v->ui.frames++;
    if (!v->ui.async_prepare) viz_prepare(v);
    Gfx gg, *g = &gg;
    ViewName shown = viz_shown_view(v);
    gfx_begin(g, cr, W, H, v->view.presenter, v->view.colorblind);
    gfx_color(g, GFX_BG);
    cairo_paint(cr);
    double gap = fmax(4, g->fs * 0.4);
    double header_h = g->fs * 2.3;
    v->ui.fs = g->fs, v->ui.fs_min = g->fs_min;
    view_header(v, g, (Rect){0, 0, W, header_h});
    viz_add_hit(v, HIT_PANEL, (Rect){0, 0, W, header_h}, -1, 0);
    double cap_h = view_caption_height(v, g, W - 2 * gap);
    v->ui.unseen[0] = 0;
    if (cap_h > H * 0.45) {
        snprintf(v->ui.unseen, sizeof v->ui.unseen, "the caption needs %.0f%% of the screen's height, more than the 45%% it may take",
                 100 * cap_h / H);
        cap_h = H * 0.45;
    }
    double top = header_h + gap, bottom = H - gap - (cap_h > 0 ? cap_h + gap : 0);
    if (cap_h > 0) {
        view_caption(v, g, (Rect){gap, H - gap - cap_h, W - 2 * gap, cap_h});
        viz_add_hit(v, HIT_PANEL, (Rect){gap, H - gap - cap_h, W - 2 * gap, cap_h}, -2, 0);
    }
    if (!v->run.loaded || viz_n_shown(v) == 0) {
        gfx_font(g, FONT_SANS, g->fs * 1.2, 0);
        gfx_color(g, GFX_MUTED);
        gfx_text_fit(g, W / 2, H / 2,
                     v->run.loaded ? "Nothing to show \xE2\x80\x94 press Enter for a new prompt, or : for a command"
                                   : "No model loaded \xE2\x80\x94 press : and type model NAME",
                     W - 2 * gap, 0.5);
    } else if (shown != VIEW_ALL) {
        draw_view(v, g, shown, (Rect){gap, top, W - 2 * gap, bottom - top}, 1);
    } else {
        /* every view: tokens; heatmap | distribution; pipeline; vectors */
        double tokens_h = g->fs * 5.0, pipe_h = g->fs * 5.2;
        double block_h = fmax(g->fs * 9, (bottom - top) * 0.27);
        double mid_h = bottom - top - tokens_h - pipe_h - block_h - 3 * gap;
        if (mid_h < g->fs * 8) { /* a short window: the vectors give way first */
            block_h = fmax(0, block_h - (g->fs * 8 - mid_h));
            mid_h = bottom - top - tokens_h - pipe_h - block_h - 3 * gap;
        }
        double y = top, left_w = (W - 3 * gap) * 0.55;
        Rect tok = {gap, y, W - 2 * gap, tokens_h};
        viz_add_hit(v, HIT_PANEL, tok, VIEW_TOKENS, 0);
        view_token_strip(v, g, tok);
        y += tokens_h + gap;
        int grid = v->view.main == MAIN_GRID;
        draw_view(v, g, grid ? VIEW_GRID : VIEW_ATTENTION, (Rect){gap, y, left_w, mid_h}, 0);
        draw_view(v, g, VIEW_DIST, (Rect){2 * gap + left_w, y, W - 3 * gap - left_w, mid_h}, 0);
        y += mid_h + gap;
        draw_view(v, g, VIEW_PIPELINE, (Rect){gap, y, W - 2 * gap, pipe_h}, 0);
        y += pipe_h + gap;
        CellBreakdown cb; /* a selected cell's computation takes the vectors' place */
        Rect low = {gap, y, W - 2 * gap, block_h};
        if (!grid && v->view.key >= 0 && viz_cell_breakdown(v, viz_query_pos(v), v->view.key, &cb) == 0) {
            gfx_panel(g, low);
            viz_add_hit(v, HIT_PANEL, low, VIEW_ATTENTION, 0);
            view_cell_panel(v, g, low, &cb);
        } else if (block_h >= g->fs * 5) {
            draw_view(v, g, VIEW_BLOCK, low, 0);
        }
    }
    if (v->view.help) view_help(v, g);
    view_message(v, g);
    /* what a lesson highlighted must be on screen */
    for (int i = 0; i < v->view.n_hl_tokens && !v->ui.unseen[0]; i++) {
        int seen = 0;
        for (int h = 0; h < v->ui.n_hits && !seen; h++) seen = v->ui.hits[h].kind == HIT_TOKEN && v->ui.hits[h].a == v->view.hl_tokens[i];
        if (!seen) snprintf(v->ui.unseen, sizeof v->ui.unseen, "highlighted token %d is not on screen", v->view.hl_tokens[i]);
    }
    for (int i = 0; i < v->view.n_hl_cells && !v->ui.unseen[0]; i++) {
        int q = v->view.hl_cells[i][0], k = v->view.hl_cells[i][1], seen = 0;
        for (int h = 0; h < v->ui.n_hits && !seen; h++) {
            const Hit *x = &v->ui.hits[h];
            seen = x->kind == HIT_CELL && q >= x->a && q < x->a + x->b && k >= x->a && k < x->a + x->b;
        }
        if (!seen) snprintf(v->ui.unseen, sizeof v->ui.unseen, "highlighted cell %d %d is not on screen (no heatmap shows it)", q, k);
    }
    for (int i = 0; i < v->view.n_hl_cands && !v->ui.unseen[0]; i++) {
        int seen = 0;
        for (int h = 0; h < v->ui.n_hits && !seen; h++)
            seen = v->ui.hits[h].kind == HIT_CANDIDATE && v->ui.hits[h].a == v->view.hl_cands[i];
        if (!seen) snprintf(v->ui.unseen, sizeof v->ui.unseen, "highlighted candidate %d is not among the candidates shown", v->view.hl_cands[i]);
    }
}

/* ---- the frame around the views ---- */

void view_header(VizState *v, Gfx *g, Rect r) {
    gfx_fill(g, r, GFX_INK);
    const Gpt2Config *c = &v->run.gen.model.cfg;
    const SamplerSettings *s = &v->run.gen.sampler;
    char left[700], right[400];
    if (v->run.loaded)
        snprintf(left, sizeof left, "gptstep \xE2\x80\x94 %s (%d layers \xC3\x97 %d heads)%s%s", v->run.gen.model.name, c->n_layer,
                 c->n_head, v->view.title[0] ? " \xE2\x80\x94 " : "", v->view.title);
    else
        snprintf(left, sizeof left, "gptstep%s%s", v->view.title[0] ? " \xE2\x80\x94 " : "", v->view.title);
    char k[16];
    if (s->top_k) snprintf(k, sizeof k, "%d", s->top_k);
    else snprintf(k, sizeof k, "off");
    if (s->greedy == 1) snprintf(right, sizeof right, "greedy");
    else /* %g: every digit of the values typed (up to six) */
        snprintf(right, sizeof right, "seed %llu \xC2\xB7 T %g \xC2\xB7 top-k %s \xC2\xB7 top-p %g", (unsigned long long)s->seed,
                 s->temperature, k, s->top_p);
    if (v->run.loaded && v->run.gen.state.iv.n) {
        size_t n = strlen(right);
        char iv[300];
        interventions_text(&v->run.gen.state.iv, iv, sizeof iv);
        snprintf(right + n, sizeof right - n, " \xC2\xB7 off: %s", iv);
    }
    if (v->run.loaded && v->run.other && v->run.other_kind == OTHER_TEXT) {
        size_t n = strlen(right);
        char b[64];
        snprintf(b, sizeof b, "%s", v->run.other_text);
        for (char *c = b; *c; c++)
            if ((unsigned char)*c < 0x20) *c = ' '; /* one line */
        size_t bl = strlen(b); /* cut at a character's start */
        if (bl == sizeof b - 1) {
            while (bl > 0 && ((unsigned char)b[bl - 1] & 0xC0) == 0x80) bl--;
            if (bl > 0 && (unsigned char)b[bl - 1] >= 0xC0) bl--;
            b[bl] = 0;
        }
        snprintf(right + n, sizeof right - n, " \xC2\xB7 B: \"%s%s\"", b, strlen(v->run.other_text) >= sizeof b ? "\xE2\x80\xA6" : "");
    }
    if (v->run.n_branches > 1) {
        size_t n = strlen(right);
        snprintf(right + n, sizeof right - n, " \xC2\xB7 branch %d/%d", v->run.branch, v->run.n_branches);
    }
    if (v->view.progress[0]) {
        size_t n = strlen(right);
        snprintf(right + n, sizeof right - n, " \xC2\xB7 %s", v->view.progress);
    }
    double pad = g->fs * 0.6;
    gfx_font(g, FONT_SANS, g->fs * 0.9, 0);
    double base = r.y + r.h / 2 + gfx_ascent(g) * 0.4;
    double rw = fmin(gfx_text_w(g, right), r.w * 0.5);
    gfx_color(g, (Rgb){0.85, 0.88, 0.95});
    gfx_text_fit(g, r.x + r.w - pad, base, right, rw, 1);
    gfx_font(g, FONT_SANS, g->fs * 1.05, 1);
    gfx_color(g, GFX_WHITE);
    double lw = gfx_text_fit(g, r.x + pad, base, left, r.w - rw - 3 * pad, 0);
    if (v->ui.interactive && !v->view.progress[0]) { /* how to go on, where nothing else says it (a lesson does) */
        const Trace *tr = &v->run.gen.trace;
        const char *hint = v->run.loaded && tr->n_steps == 1 ? "\xE2\x86\x92 next token \xC2\xB7 ? help" : "? help";
        gfx_font(g, FONT_SANS, g->fs * 0.9, 0);
        double hx = r.x + pad + lw + 2 * pad, hw = gfx_text_w(g, hint);
        if (hx + hw < r.x + r.w - rw - 2 * pad) {
            gfx_color(g, (Rgb){0.62, 0.78, 1.0});
            gfx_text(g, hx, base, hint, 0);
        }
    }
}

/* Caption layout: lines split at '\n', words wrapped at spaces; "**" toggles bold across words and
 * lines. Draws when draw != 0; returns the height used. */
static double caption_layout(VizState *v, Gfx *g, Rect r, int draw) {
    const char *p = v->view.caption;
    double pad = g->fs * 0.7, lh = g->fs * 1.4, x0 = r.x + pad * 1.4, xmax = r.x + r.w - pad;
    double y = r.y + pad + g->fs;
    int style = 0; /* 1 bold (**), 2 italic (*): both carry on across words and lines */
    gfx_font(g, FONT_SANS, g->fs, 0);
    double space = gfx_text_w(g, " ");
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        double x = x0;
        const char *q = p, *end = p + n;
        while (q < end) {
            while (q < end && *q == ' ') q++;
            if (q >= end) break;
            const char *we = q;
            while (we < end && *we != ' ') we++;
            /* the word without its ** and * marks, in pieces of one style each */
            char word[1024];
            int wbold[1024];
            size_t k = 0;
            for (const char *c = q; c < we && k < sizeof word - 1; c++) {
                if (c[0] == '*' && c + 1 < we && c[1] == '*') {
                    style ^= 1;
                    c++;
                    continue;
                }
                if (c[0] == '*') { /* a single star: italics (a lone "*" with spaces around stays a star) */
                    int lone = c == q && c + 1 == we;
                    if (!lone) {
                        style ^= 2;
                        continue;
                    }
                }
                wbold[k] = style;
                word[k++] = *c;
            }
            word[k] = 0;
            /* measure the word (pieces of one weight) */
            double ww = 0;
            for (size_t i = 0; i < k;) {
                size_t j = i;
                while (j < k && wbold[j] == wbold[i]) j++;
                char piece[1024];
                memcpy(piece, word + i, j - i);
                piece[j - i] = 0;
                gfx_font(g, FONT_SANS, g->fs, wbold[i]);
                ww += gfx_text_w(g, piece);
                i = j;
            }
            if (x > x0 && x + ww > xmax) x = x0, y += lh;
            for (size_t i = 0; i < k;) {
                size_t j = i;
                while (j < k && wbold[j] == wbold[i]) j++;
                char piece[1024];
                memcpy(piece, word + i, j - i);
                piece[j - i] = 0;
                gfx_font(g, FONT_SANS, g->fs, wbold[i]);
                if (draw) {
                    gfx_color(g, GFX_INK);
                    x += gfx_text_fit(g, x, y, piece, xmax - x, 0);
                } else {
                    x += gfx_text_w(g, piece);
                }
                i = j;
            }
            x += space;
            q = we;
        }
        y += lh;
        p = nl ? nl + 1 : end;
    }
    return y - lh + pad + g->fs * 0.4 - r.y;
}

double viz_caption_print(VizState *v, cairo_t *cr, Rect r, double size, int draw) {
    if (!v->view.caption[0]) return 0;
    Gfx g;
    gfx_begin(&g, cr, r.w, r.h, 0, v->view.colorblind);
    g.fs = size, g.fs_min = size * 0.8;
    if (!draw) return caption_layout(v, &g, (Rect){r.x, r.y, r.w, 0}, 0);
    view_caption(v, &g, r);
    return r.h;
}

double view_caption_height(VizState *v, Gfx *g, double w) {
    if (!v->view.caption[0]) return 0;
    return caption_layout(v, g, (Rect){0, 0, w, 0}, 0);
}

void view_caption(VizState *v, Gfx *g, Rect r) {
    gfx_fill(g, r, (Rgb){1.0, 0.98, 0.90});
    gfx_fill(g, (Rect){r.x, r.y, g->fs * 0.3, r.h}, (Rgb){0.85, 0.70, 0.2});
    cairo_save(g->cr);
    cairo_rectangle(g->cr, r.x, r.y, r.w, r.h);
    cairo_clip(g->cr);
    caption_layout(v, g, r, 1);
    cairo_restore(g->cr);
}

void view_help(VizState *v, Gfx *g) {
    const char **keys, **what;
    /* a reference for whoever is at the keys, not for the room: presenter mode's smallest text */
    const double hs = v->view.presenter ? fmax(g->fs_min, g->fs * 0.7) : g->fs * 0.9;
    int n = viz_help_lines(&keys, &what);
    gfx_color_a(g, GFX_INK, 0.55);
    cairo_paint(g->cr);
    double pad = g->fs, kw = 0, dw = 0;
    gfx_font(g, FONT_SANS, hs, 1);
    double lh = gfx_line_h(g) * 1.15;
    for (int i = 0; i < n; i++) kw = fmax(kw, gfx_text_w(g, keys[i]));
    gfx_font(g, FONT_SANS, hs, 0);
    for (int i = 0; i < n; i++) dw = fmax(dw, gfx_text_w(g, what[i]));
    /* the fewest columns whose rows fit the height; the descriptions cut only when even that is too wide */
    int cols = 1;
    while (cols < 4 && (n + cols - 1) / cols * lh + 4 * pad > g->H * 0.94) cols++;
    int rows = (n + cols - 1) / cols;
    double colw = kw + dw + 2 * pad, bw = fmin(g->W - 2 * pad, cols * colw + pad);
    double bh = fmin(g->H - 2 * pad, rows * lh + 3.5 * pad), cw = (bw - pad) / cols;
    double kcol = fmin(kw + pad, cw * 0.45);
    double bx = (g->W - bw) / 2, by = (g->H - bh) / 2;
    gfx_fill(g, (Rect){bx, by, bw, bh}, GFX_PANEL);
    gfx_color(g, GFX_INK);
    gfx_font(g, FONT_SANS, g->fs * 1.1, 1);
    gfx_text_fit(g, bx + pad, by + pad + gfx_ascent(g), "Keys and mouse \xE2\x80\x94 each sends a command (docs/viewer.md)", bw - 2 * pad, 0);
    for (int i = 0; i < n; i++) {
        int c = i / rows, row = i % rows;
        gfx_font(g, FONT_SANS, hs, 1);
        double x = bx + pad + c * cw, y = by + pad * 3 + row * lh + gfx_ascent(g);
        if (y > by + bh - pad * 0.3) continue;
        gfx_color(g, GFX_ACCENT);
        gfx_text_fit(g, x, y, keys[i], kcol - pad * 0.5, 0);
        gfx_font(g, FONT_SANS, hs, 0);
        gfx_color(g, GFX_INK);
        gfx_text_fit(g, x + kcol, y, what[i], cw - kcol - pad * 0.5, 0);
    }
}

void view_message(VizState *v, Gfx *g) {
    if (!v->ui.message[0]) return;
    gfx_font(g, FONT_SANS, g->fs, 1);
    double pad = g->fs * 0.8, w = fmin(gfx_text_w(g, v->ui.message) + 2 * pad, g->W - 2 * pad), h = gfx_line_h(g) + pad;
    double x = (g->W - w) / 2, y = g->H - h - pad;
    gfx_fill(g, (Rect){x, y, w, h}, v->ui.message_is_error ? GFX_ERROR : GFX_INK);
    viz_add_hit(v, HIT_PANEL, (Rect){x, y, w, h}, -3, 0);
    gfx_color(g, GFX_WHITE);
    gfx_text_fit(g, x + pad, y + pad / 2 + gfx_ascent(g), v->ui.message, w - 2 * pad, 0);
}
