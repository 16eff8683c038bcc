/* gfx.h - the viewer's small drawing layer: palette, fonts, text with measured extents, colour maps,
 * cell painting, panels and tooltips, over any cairo_t (window, PNG, SVG, PDF). Views draw only
 * through this header and cairo paths; they never pick a colour or a font size of their own.
 *
 * Text sizes come from two numbers fixed per frame: `fs`, the body text size, and `fs_min`, the
 * smallest text allowed (in presenter mode 1/40 of the canvas height). A view that cannot fit its
 * content at fs_min shows less (fewer rows, thinned labels, an ellipsis) and never shrinks text
 * below it. */
#ifndef GPTSTEP_GFX_H
#define GPTSTEP_GFX_H

#include <cairo.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    double x, y, w, h;
} Rect;

typedef struct {
    double r, g, b;
} Rgb;

/* Palette (light theme, readable on projectors). */
extern const Rgb GFX_BG, GFX_PANEL, GFX_INK, GFX_MUTED, GFX_RULE, GFX_ACCENT, GFX_CHOSEN, GFX_PROMPT,
    GFX_GENERATED, GFX_HILITE, GFX_ERROR, GFX_MASKED, GFX_PICKED, GFX_WHITE;

typedef enum { FONT_SANS, FONT_MONO } FontFace;

typedef struct {
    cairo_t *cr;
    double W, H;       /* the canvas */
    double fs;         /* body text size */
    double fs_min;     /* smallest text size allowed */
    int colorblind;    /* colour-blind-safe colour maps */
    int presenter;     /* presenter mode (sizes for the back of a room) */
    int vector;        /* the surface is PDF/SVG: cells as vector rectangles */
    FontFace face;     /* the font gfx_font selected last */
    double size;
    int bold;
} Gfx;

/* Sizes for a canvas: normal mode fits a whole window of views; presenter mode reads from the back
 * of a room (every text >= H/40). */
void gfx_begin(Gfx *g, cairo_t *cr, double W, double H, int presenter, int colorblind);

void gfx_color(Gfx *g, Rgb c);
void gfx_color_a(Gfx *g, Rgb c, double alpha);
Rgb gfx_mix(Rgb a, Rgb b, double t);

/* Selects a face at `size` (never below fs_min); bold: 1 bold, 2 italic, 3 both. Returns the size used. Text in scripts DejaVu does not
 * cover (Chinese, Japanese, Korean) is drawn in Droid Sans Fallback, run by run, by the text functions
 * below. */
double gfx_font(Gfx *g, FontFace face, double size, int bold);
double gfx_text_w(Gfx *g, const char *s);
/* Line height of the current font (ascent + descent), and its ascent. */
double gfx_line_h(Gfx *g);
double gfx_ascent(Gfx *g);
/* Draws s with its baseline at y; align 0 left, 0.5 centre, 1 right. Returns the width. */
double gfx_text(Gfx *g, double x, double y, const char *s, double align);
/* The same, cut at a whole UTF-8 character with an ellipsis to fit max_w (nothing when max_w is too
 * small for one character and the ellipsis). Returns the width drawn. */
double gfx_text_fit(Gfx *g, double x, double y, const char *s, double max_w, double align);
/* Text drawn top-to-bottom rotated by -90 degrees (reads upwards), its end at (x, y). */
void gfx_text_up(Gfx *g, double x, double y, const char *s, double max_len);

/* Fills and outlines. */
void gfx_fill(Gfx *g, Rect r, Rgb c);
void gfx_stroke(Gfx *g, Rect r, Rgb c, double width);
void gfx_panel(Gfx *g, Rect r);
/* A panel's title line; returns the y where the panel's content may start. */
double gfx_panel_title(Gfx *g, Rect r, const char *title, const char *right_note);
/* A dark tooltip box with white text, kept inside `bounds`, near (x, y). */
/* The height gfx_panel_title takes (what it returns, minus the panel's y). */
double gfx_title_h(Gfx *g);
void gfx_tooltip(Gfx *g, Rect bounds, double x, double y, const char *s);
/* The hatching that marks masked (future) keys. */
void gfx_hatch(Gfx *g, Rect r);
/* A red cross over r: a part of the model switched off. */
void gfx_cross(Gfx *g, Rect r);

/* Colour maps: sequential 0..1 (white to deep red; viridis in colour-blind mode) and diverging -1..1
 * (blue-white-red; blue-white-orange in colour-blind mode). */
Rgb gfx_seq(const Gfx *g, double t);
Rgb gfx_div(const Gfx *g, double t);
uint32_t gfx_argb(Rgb c, double alpha); /* premultiplied, for gfx_cells */

/* A rows x cols grid of colours over r: one nearest-neighbour image on a raster surface, one vector
 * rectangle per cell on PDF/SVG (so that no viewer smears cells into each other). alpha 0 = nothing. */
void gfx_cells(Gfx *g, Rect r, const uint32_t *argb, int cols, int rows);

/* A vector as one strip of cells, blue < 0 < red, scaled to its largest |value|. */
void gfx_vector(Gfx *g, Rect r, const float *a, int n);
/* The same on a scale given (|value| m is the darkest), so that rows drawn on one scale compare. */
void gfx_vector_scaled(Gfx *g, Rect r, const float *a, int n, float m);

#endif
