/* interventions.c - naming, listing and locating the parts a run switches off (interventions.h). */
#include "interventions.h"

#include <stdio.h>
#include <string.h>

#include "trace.h"

_Static_assert(TRACE_INTERVENTIONS_MAX >= GPT2_MAX_ABLATIONS * 32 + 16, "a trace holds any list of interventions");
_Static_assert(TRACE_NEURONS_OFF_MAX >= GPT2_MAX_ABLATIONS, "a trace holds every neuron a pass switches off");

int ablation_parse(const char *spec, const Gpt2Config *c, Ablation *out, Err *err) {
    if (!strcmp(spec, "pos")) {
        *out = (Ablation){ABL_POS, 0, 0};
        return 0;
    }
    static const char *FORMS = "expected L.H (a head), L.mlp.N (a neuron), L.attn, L.mlp or pos";
    const char *rest, *end;
    long layer, idx;
    int bad = parse_int_prefix(spec, 0, c->n_layer - 1, &layer, &rest);
    if (rest == spec || *rest != '.') return err_set(err, "ablation '%.60s': %s", spec, FORMS);
    if (bad)
        return err_set(err, "ablation '%.60s': layer %.*s is out of range: expected 0..%d", spec, (int)(rest - spec > 24 ? 24 : rest - spec),
                       spec, c->n_layer - 1);
    rest++;
    if (!strcmp(rest, "attn")) *out = (Ablation){ABL_ATTN, (int)layer, 0};
    else if (!strcmp(rest, "mlp")) *out = (Ablation){ABL_MLP, (int)layer, 0};
    else if (!strncmp(rest, "mlp.", 4) && (parse_int_prefix(rest + 4, 0, c->n_inner - 1, &idx, &end), end > rest + 4 && !*end)) {
        if (parse_int(rest + 4, 0, c->n_inner - 1, &idx))
            return err_set(err, "ablation '%.60s': neuron %.20s is out of range: expected 0..%d", spec, rest + 4, c->n_inner - 1);
        *out = (Ablation){ABL_NEURON, (int)layer, (int)idx};
    } else if ((parse_int_prefix(rest, 0, c->n_head - 1, &idx, &end), end > rest && !*end)) {
        if (parse_int(rest, 0, c->n_head - 1, &idx))
            return err_set(err, "ablation '%.60s': head %.20s is out of range: expected 0..%d", spec, rest, c->n_head - 1);
        *out = (Ablation){ABL_HEAD, (int)layer, (int)idx};
    } else {
        return err_set(err, "ablation '%.60s': %s", spec, FORMS);
    }
    return 0;
}

int ablate_mode_parse(const char *word, AblateMode *out, Err *err) {
    if (!strcmp(word, "zero")) *out = ABLATE_ZERO;
    else if (!strcmp(word, "mean")) *out = ABLATE_MEAN;
    else return err_set(err, "ablation mode '%s': expected zero or mean", word);
    return 0;
}

void ablation_name(const Ablation *a, char *buf, size_t cap) {
    switch (a->kind) {
    case ABL_HEAD: snprintf(buf, cap, "%d.%d", a->layer, a->index); break;
    case ABL_NEURON: snprintf(buf, cap, "%d.mlp.%d", a->layer, a->index); break;
    case ABL_ATTN: snprintf(buf, cap, "%d.attn", a->layer); break;
    case ABL_MLP: snprintf(buf, cap, "%d.mlp", a->layer); break;
    default: snprintf(buf, cap, "pos"); break;
    }
}

void interventions_text(const Interventions *iv, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = 0;
    for (int i = 0; i < iv->n && k + 1 < cap; i++) {
        char one[48];
        ablation_name(&iv->a[i], one, sizeof one);
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", i ? ", " : "", one);
    }
    if (iv->n && k + 1 < cap) snprintf(buf + k, cap - k, iv->mode == ABLATE_MEAN ? " (mean)" : " (zero)");
}

int interventions_has(const Interventions *iv, AblationKind kind, int layer, int index) {
    for (int i = 0; i < iv->n; i++) {
        const Ablation *a = &iv->a[i];
        if (a->kind == kind && (kind == ABL_POS || (a->layer == layer && (kind == ABL_ATTN || kind == ABL_MLP || a->index == index))))
            return 1;
    }
    return 0;
}

int interventions_find(const Interventions *iv, const Ablation *a) {
    for (int i = 0; i < iv->n; i++)
        if (iv->a[i].kind == a->kind && iv->a[i].layer == a->layer && iv->a[i].index == a->index) return i;
    return -1;
}

size_t interventions_means_size(const Gpt2Config *c) {
    return (size_t)c->n_layer * (3 * (size_t)c->n_embd + (size_t)c->n_inner) + (size_t)c->n_embd;
}

size_t interventions_mean_offset(const Gpt2Config *c, AblationKind kind, int layer) {
    const size_t C = (size_t)c->n_embd, FF = (size_t)c->n_inner, block = 3 * C + FF;
    if (kind == ABL_POS) return (size_t)c->n_layer * block;
    size_t base = (size_t)layer * block;
    switch (kind) {
    case ABL_ATTN: return base + C;
    case ABL_NEURON: return base + 2 * C;
    case ABL_MLP: return base + 2 * C + FF;
    default: return base; /* ABL_HEAD */
    }
}
