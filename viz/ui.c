/* ui.c - the hit areas a frame records (what the mouse can act on), for the views and the window. */
#include "viz.h"
#include "vizint.h"

void viz_add_hit(VizState *v, HitKind kind, Rect r, int a, int b) {
    if (v->ui.n_hits >= VIZ_MAX_HITS) return;
    v->ui.hits[v->ui.n_hits++] = (Hit){kind, r, a, b};
}

int viz_hovered(const VizState *v, HitKind kind, int a, int b) {
    const Hit *h = viz_hover_hit(v, kind);
    return h && h->a == a && h->b == b;
}

const Hit *viz_hover_hit(const VizState *v, HitKind kind) {
    if (v->ui.hover < 0 || v->ui.hover >= v->ui.n_hits) return NULL;
    const Hit *h = &v->ui.hits[v->ui.hover];
    return h->kind == kind ? h : NULL;
}

