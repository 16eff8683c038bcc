/* model.c - loads a Hugging Face GPT-2 checkpoint and checks every shape: float32 tensors used in place
 * from the mapped file where they sit at a cache line's boundary, float16 matrices used in place
 * wherever they sit (the kernels make them float32 as they read them), the rest converted to float32
 * on all threads.
 * Accepts names with or without the "transformer." prefix, skips the attn.bias / attn.masked_bias mask
 * buffers, ties the output layer to wte unless lm_head.weight is present. */
#define _DEFAULT_SOURCE
#include "model.h"

#include <cJSON.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "bigmem.h"
#include "ops.h"
#include "safetensors.h"

/* Reads the sizes config.json gives; fields it lacks stay 0 (to be inferred from shapes). */
static int read_config(const char *path, Gpt2Config *c, Err *err) {
    char *text;
    size_t len;
    if (read_file(path, &text, &len, err) != 0) return -1;
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(err, "%s: not a valid JSON object", path);
    }
    struct { const char *key; int *dst; } ints[] = {
        {"n_layer", &c->n_layer}, {"n_head", &c->n_head},     {"n_embd", &c->n_embd},
        {"vocab_size", &c->n_vocab}, {"n_positions", &c->n_ctx}, {"n_inner", &c->n_inner},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0] && rc == 0; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, ints[i].key);
        if (!v || cJSON_IsNull(v)) continue;
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e7 ||
            v->valuedouble != (double)(int)v->valuedouble)
            rc = err_set(err, "%s: \"%s\" must be a positive integer", path, ints[i].key);
        else
            *ints[i].dst = (int)v->valuedouble;
    }
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
    if (rc == 0 && eps) {
        if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0 && eps->valuedouble < 1))
            rc = err_set(err, "%s: \"layer_norm_epsilon\" must be a number in (0, 1)", path);
        else
            c->ln_eps = (float)eps->valuedouble;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "activation_function");
    if (rc == 0 && act && !(cJSON_IsString(act) && strcmp(act->valuestring, "gelu_new") == 0))
        rc = err_set(err, "%s: activation_function %s is not supported, expected \"gelu_new\"", path,
                     cJSON_IsString(act) ? act->valuestring : "(not a string)");
    cJSON_Delete(root);
    return rc;
}

/* One weight to fill: where its pointer goes (dst for float32; half too for a matrix, which may stay
 * float16), and the tensor it comes from. */
typedef struct {
    float **dst;
    const unsigned char **half;
    const StTensor *t;
} Want;

typedef struct {
    StFile st;
    const char *prefix; /* "" or "transformer." */
    char dtype[16];
    LoadProgress progress;
    void *ctx;
    Want *want;         /* every weight, checked, in the order asked for */
    int n_want;
    int in_place;       /* aligned float32 tensors and float16 matrices are used from the mapped file (weights_in_place) */
} Loader;

static const StTensor *find(Loader *ld, const char *name) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    return st_find(&ld->st, full);
}

static void shape_str(char *buf, size_t n, const int64_t *shape, int ndim) {
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < ndim && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (k < n) snprintf(buf + k, n - k, "]");
}

/* Finds NAME and checks its shape is exactly (d0[, d1]); *dst is filled later, with every weight at
 * once (fill_weights). */
static void want_tensor(Loader *ld, float **dst, const char *name, int64_t d0, int64_t d1, int *rc, Err *err) {
    if (*rc) return;
    const StTensor *t = find(ld, name);
    if (!t) {
        *rc = err_set(err, "%s: missing tensor '%s%s'", ld->st.path, ld->prefix, name);
        return;
    }
    int64_t want[2] = {d0, d1};
    int nd = d1 > 0 ? 2 : 1;
    int ok = t->ndim == nd && t->shape[0] == d0 && (nd == 1 || t->shape[1] == d1);
    if (!ok) {
        char got[128], exp[128];
        shape_str(got, sizeof got, t->shape, t->ndim);
        shape_str(exp, sizeof exp, want, nd);
        *rc = err_set(err, "%s: tensor '%s': shape %s, expected %s", ld->st.path, t->name, got, exp);
        return;
    }
    if (strcmp(t->dtype, "F32") && strcmp(t->dtype, "F16") && strcmp(t->dtype, "BF16")) {
        *rc = err_set(err, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", ld->st.path, t->name, t->dtype);
        return;
    }
    if (ld->dtype[0] == 0) strcpy(ld->dtype, t->dtype);
    else if (strcmp(ld->dtype, t->dtype) != 0) strcpy(ld->dtype, "mixed");
    ld->want = xrealloc(ld->want, sizeof(Want) * (size_t)(ld->n_want + 1));
    ld->want[ld->n_want++] = (Want){dst, NULL, t};
}

/* The same for a matrix, which a float16 checkpoint's bytes can be used for as they are. */
static void want_matrix(Loader *ld, WMat *dst, const char *name, int64_t d0, int64_t d1, int *rc, Err *err) {
    int n = ld->n_want;
    want_tensor(ld, &dst->f, name, d0, d1, rc, err);
    if (ld->n_want > n) ld->want[n].half = &dst->h;
}

/* Whether a tensor can be used in place from the mapped file: float32 at a cache line's boundary, 64
 * bytes. (A file whose data starts off it, as at 15,800 bytes, splits every 64-byte load of the matmuls
 * across two lines: used in place, its first prefill ran at 0.30 of the warm speed and its warm one 15%
 * slower than the copy's. GPT-2's own files start their data at byte 14,291, off even a float's
 * boundary, and safetensors' own writers pad to 8 bytes: those are converted; gptstep's own writers,
 * tools/train/export.py among them, pad the header to 64.) */
#define LINE 64
static const float *aligned_f32(const Loader *ld, const StTensor *t) {
    const unsigned char *src = ld->st.map + ld->st.data_start + t->begin;
    return !strcmp(t->dtype, "F32") && (uintptr_t)src % LINE == 0 ? (const float *)src : NULL;
}

/* A float16 matrix is used in place at any alignment, where the CPU converts float16 in hardware: the
 * kernels read it in rows they make float32 (ops.h), each half once per panel, unaligned loads and all.
 * Half the bytes of float32 to read for every token, none to write at load: GPT-2 XL's shapes loaded
 * in 0.71-0.82 s against 2.6-2.8 s converted (8.3 s after idling), decoded 10-14 tokens/s against 7-8,
 * and held 3.1 GB against 6.2 (docs/performance.md, "Float16 used in place"). */
static int half_in_place(const Loader *ld, const Want *w) {
    return ld->in_place && w->half && !strcmp(w->t->dtype, "F16") && f16_hardware();
}

/* The tensor's bytes in the mapped file when it is used from there, else NULL. */
static const void *in_place(const Loader *ld, const Want *w) {
    if (!ld->in_place) return NULL;
    if (half_in_place(ld, w)) return ld->st.map + ld->st.data_start + w->t->begin;
    return aligned_f32(ld, w->t);
}

/* Where float32 weights live, measured on the project's machine (GPT-2 small's shapes, the file's data
 * at a 64-byte boundary and in the page cache, fresh processes, 64-token prompt + 256 tokens recorded in
 * full, interleaved, medians): used in place from the mapped file, the model loaded in 0.007 s and the
 * first prefill ran at 900-1300 tokens/s; copied into huge pages, 0.06 s to 0.7 s (0.7 once the machine
 * has idled and its host has taken the memory back: docs/performance.md) and 530 tokens/s, the copy's
 * fresh memory being what the prompt would have had. Warm, in place was 1-3% slower, whether the
 * kernel mapped the file's page cache in 2 MB entries (92% of it, or 48% after the file was written)
 * or in 4 KB ones (tmpfs): decode 75.8-79.7 tokens/s against 76.6-81.3. `generate` of 64 + 128 tokens
 * after idling: 1.69-2.22 s in place, 2.10-2.57 s copied. So float32 at a line's boundary is used in
 * place, its page tables made on all threads first (MADV_POPULATE_READ: a first prefill taking them as
 * page faults ran at a sixth of the warm speed) and every page read once (below). A file mapped for the
 * program's life must not be rewritten in place under it: st_keep_map (safetensors.h) turns the SIGBUS
 * that would bring into one line. GPTSTEP_COPY_WEIGHTS=1 copies them instead. */
static void weights_in_place(Loader *ld) {
    const char *e = getenv("GPTSTEP_COPY_WEIGHTS");
    ld->in_place = !(e && !strcmp(e, "1"));
    int any = 0;
    for (int i = 0; i < ld->n_want && !any; i++) any = in_place(ld, &ld->want[i]) != NULL;
#ifdef MADV_POPULATE_READ
    if (!any || getenv("GPTSTEP_NO_POPULATE")) return;
    const long page = sysconf(_SC_PAGESIZE);
    const unsigned char *d0 = ld->st.map + ld->st.data_start, *d1 = ld->st.map + ld->st.file_len;
    uintptr_t a0 = (uintptr_t)d0 & ~((uintptr_t)page - 1);
    const size_t span = (size_t)((uintptr_t)d1 - a0), piece = (size_t)8 << 20;
    const long n_pop = (long)((span + piece - 1) / piece), n_touch = (long)(span / (size_t)page);
#pragma omp parallel for schedule(dynamic, 1)
    for (long j = 0; j < n_pop; j++) {
        size_t off = (size_t)j * piece, len = span - off < piece ? span - off : piece;
        madvise((void *)(a0 + off), len, MADV_POPULATE_READ);
    }
    /* and a byte of every 4 KB page read once, on all threads: on the project's machine (a virtual
     * machine that keeps its own page tables for each process's) the first read of each page of a new
     * mapping costs about 0.4 us, 0.04 s for GPT-2 small's, which a first prefill would pay otherwise */
    unsigned sum = 0;
#pragma omp parallel for schedule(static, 512) reduction(+ : sum)
    for (long j = 0; j < n_touch; j++) sum += *(const volatile unsigned char *)(a0 + (size_t)j * (size_t)page);
    (void)sum;
#else
    (void)any;
#endif
}

/* Fills every wanted weight: in place where it can be (in_place), else converted to float32 into one
 * block of fresh memory (bigmem.h), in pieces of a million numbers on all threads, the file's pages
 * given back as each piece is read. Progress is reported from the calling thread; when it says stop,
 * the pieces not yet started are skipped and the load fails. */
static int fill_weights(Loader *ld, Gpt2Model *m, Err *err) {
    enum { PIECE = 1 << 20 };
    weights_in_place(ld);
    size_t total = 0, n_pieces = 0;
    for (int i = 0; i < ld->n_want; i++) {
        const StTensor *t = ld->want[i].t;
        if (in_place(ld, &ld->want[i])) continue;
        total += ((size_t)st_numel(t) + 15) / 16 * 16; /* each tensor at 64 bytes */
        n_pieces += ((size_t)st_numel(t) + PIECE - 1) / PIECE;
    }
    float *arena = total ? big_alloc_huge(total * sizeof(float)) : NULL;
    struct Piece { float *out; const unsigned char *src; size_t n; int bf16, f32; } *pc = xmalloc(sizeof *pc * (n_pieces + 1));
    size_t at = 0, k = 0, all_bytes = 0;
    for (int i = 0; i < ld->n_want; i++) {
        const StTensor *t = ld->want[i].t;
        const void *here = in_place(ld, &ld->want[i]);
        size_t n = (size_t)st_numel(t), esz = (size_t)t->bits / 8;
        const unsigned char *src = ld->st.map + ld->st.data_start + t->begin;
        if (here) {
            if (half_in_place(ld, &ld->want[i])) *ld->want[i].half = here, m->half = 1;
            else *ld->want[i].dst = (float *)here;
#ifdef MADV_WILLNEED
            long page = sysconf(_SC_PAGESIZE);
            uintptr_t a = (uintptr_t)here & ~((uintptr_t)page - 1);
            madvise((void *)a, (size_t)((uintptr_t)here + n * esz - a), MADV_WILLNEED); /* read ahead, if not cached */
#endif
            continue;
        }
        *ld->want[i].dst = arena + at;
        for (size_t o = 0; o < n; o += PIECE)
            pc[k++] = (struct Piece){arena + at + o, src + o * esz, n - o < PIECE ? n - o : PIECE, t->dtype[0] == 'B', t->dtype[0] == 'F' && t->bits == 32};
        at += (n + 15) / 16 * 16;
        all_bytes += n * esz;
    }
    atomic_size_t done = 0;
    atomic_int stop = 0;
    const long page = sysconf(_SC_PAGESIZE);
#pragma omp parallel for schedule(dynamic, 1)
    for (long j = 0; j < (long)k; j++) {
        if (atomic_load(&stop)) continue;
        const struct Piece *p = &pc[j];
        size_t bytes = p->n * (p->f32 ? 4 : 2);
        if (p->f32) memcpy(p->out, p->src, bytes); /* memcpy: not at a float's boundary */
        else half_to_f32_fast(p->out, p->src, p->n, p->bf16);
        /* the file's pages, read once, go back: loading holds the float32 weights, not the file as well */
        uintptr_t a = ((uintptr_t)p->src + (uintptr_t)page - 1) & ~((uintptr_t)page - 1), e = ((uintptr_t)p->src + bytes) & ~((uintptr_t)page - 1);
        if (page > 0 && e > a) madvise((void *)a, e - a, MADV_DONTNEED);
        size_t d = atomic_fetch_add(&done, bytes) + bytes;
#ifdef _OPENMP
        if (omp_get_thread_num() != 0) continue;
#endif
        if (ld->progress && ld->progress(ld->ctx, all_bytes ? (double)d / (double)all_bytes : 1)) atomic_store(&stop, 1);
    }
    free(pc);
    m->arena = arena, m->arena_bytes = total * sizeof(float);
    if (atomic_load(&stop)) return err_set(err, "%s: loading stopped", ld->st.path);
    if (ld->progress && ld->progress(ld->ctx, 1)) return err_set(err, "%s: loading stopped", ld->st.path);
    return 0;
}

/* Fills sizes that config.json did not give from the tensors' shapes; checks they agree. */
static int infer_config(Loader *ld, Gpt2Config *c, Err *err) {
    const char *p = ld->st.path;
    const StTensor *wte = find(ld, "wte.weight"), *wpe = find(ld, "wpe.weight");
    if (!wte) return err_set(err, "%s: missing tensor '%swte.weight'", p, ld->prefix);
    if (!wpe) return err_set(err, "%s: missing tensor '%swpe.weight'", p, ld->prefix);
    if (wte->ndim != 2 || wpe->ndim != 2)
        return err_set(err, "%s: wte.weight and wpe.weight must be 2-D, got %d-D and %d-D", p, wte->ndim, wpe->ndim);
    /* sizes the rest of the program can use: at least 1, at most what an int and a forward pass hold */
    const int64_t dims[3] = {wte->shape[0], wte->shape[1], wpe->shape[0]};
    static const char *what[3] = {"wte.weight's rows (the vocabulary)", "wte.weight's columns (the width n_embd)",
                                  "wpe.weight's rows (the context)"};
    for (int i = 0; i < 3; i++)
        if (dims[i] < 1 || dims[i] > 10000000)
            return err_set(err, "%s: %s: got %lld, expected 1..10000000", p, what[i], (long long)dims[i]);
    if (c->n_vocab == 0) c->n_vocab = (int)wte->shape[0];
    if (c->n_embd == 0) c->n_embd = (int)wte->shape[1];
    if (c->n_ctx == 0) c->n_ctx = (int)wpe->shape[0];
    int layers = 0;
    char name[64];
    for (;; layers++) {
        snprintf(name, sizeof name, "h.%d.ln_1.weight", layers);
        if (!find(ld, name)) break;
    }
    if (c->n_layer == 0) c->n_layer = layers;
    if (c->n_layer != layers)
        return err_set(err, "%s: checkpoint has %d layers, expected %d (config.json n_layer)", p, layers, c->n_layer);
    if (c->n_layer == 0) return err_set(err, "%s: no layers found (expected tensors named h.0.ln_1.weight...)", p);
    if (c->n_head == 0) {
        /* Every published GPT-2 uses 64-wide heads, so NH = C/64 when config.json is absent. */
        if (c->n_embd % 64) return err_set(err, "%s: cannot infer n_head (n_embd %d is not a multiple of 64); add config.json", p, c->n_embd);
        c->n_head = c->n_embd / 64;
    }
    if (c->n_embd % c->n_head)
        return err_set(err, "%s: n_embd %d is not divisible by n_head %d", p, c->n_embd, c->n_head);
    if (c->n_inner == 0) c->n_inner = 4 * c->n_embd;
    if (c->ln_eps == 0) c->ln_eps = 1e-5f;
    return 0;
}

int gpt2_load(Gpt2Model *m, const char *model_dir, Err *err) { return gpt2_load_progress(m, model_dir, NULL, NULL, err); }

int gpt2_load_progress(Gpt2Model *m, const char *model_dir, LoadProgress progress, void *ctx, Err *err) {
    memset(m, 0, sizeof *m);
    if (!path_is_dir(model_dir)) return err_set(err, "%s: model directory not found", model_dir);
    Gpt2Config c = {0};
    char *cfg_path = path_join(model_dir, "config.json");
    int rc = path_is_file(cfg_path) ? read_config(cfg_path, &c, err)
             : path_is_dir(cfg_path) ? err_set(err, "%s: is a folder, expected a file (or nothing)", cfg_path) : 0;
    free(cfg_path);
    if (rc) return rc;

    char *st_path = path_join(model_dir, "model.safetensors");
    Loader ld = {.prefix = "", .progress = progress, .ctx = ctx};
    if (!path_is_file(st_path)) {
        rc = err_set(err, "%s: not found (a model directory holds model.safetensors; see docs/models.md)", st_path);
        free(st_path);
        return rc;
    }
    rc = st_open(&ld.st, st_path, err);
    free(st_path);
    if (rc) return rc;
    if (!st_find(&ld.st, "wte.weight") && st_find(&ld.st, "transformer.wte.weight")) ld.prefix = "transformer.";
    rc = infer_config(&ld, &c, err);

    const int64_t C = c.n_embd, V = c.n_vocab, NCTX = c.n_ctx, FF = c.n_inner;
    Gpt2Weights *w = &m->w;
    want_matrix(&ld, &w->wte, "wte.weight", V, C, &rc, err);
    want_matrix(&ld, &w->wpe, "wpe.weight", NCTX, C, &rc, err);
    w->h = xcalloc((size_t)(c.n_layer > 0 ? c.n_layer : 1), sizeof(Gpt2Layer));
    for (int l = 0; l < c.n_layer && rc == 0; l++) {
        Gpt2Layer *h = &w->h[l];
        char n[64];
#define WANT(dst, suffix, d0, d1) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), want_tensor(&ld, &dst, n, d0, d1, &rc, err))
#define WANTM(dst, suffix, d0, d1) (snprintf(n, sizeof n, "h.%d.%s", l, suffix), want_matrix(&ld, &dst, n, d0, d1, &rc, err))
        WANT(h->ln_1_w, "ln_1.weight", C, 0);
        WANT(h->ln_1_b, "ln_1.bias", C, 0);
        WANTM(h->attn_w, "attn.c_attn.weight", C, 3 * C);
        WANT(h->attn_b, "attn.c_attn.bias", 3 * C, 0);
        WANTM(h->attn_proj_w, "attn.c_proj.weight", C, C);
        WANT(h->attn_proj_b, "attn.c_proj.bias", C, 0);
        WANT(h->ln_2_w, "ln_2.weight", C, 0);
        WANT(h->ln_2_b, "ln_2.bias", C, 0);
        WANTM(h->fc_w, "mlp.c_fc.weight", C, FF);
        WANT(h->fc_b, "mlp.c_fc.bias", FF, 0);
        WANTM(h->fc_proj_w, "mlp.c_proj.weight", FF, C);
        WANT(h->fc_proj_b, "mlp.c_proj.bias", C, 0);
#undef WANT
#undef WANTM
    }
    want_tensor(&ld, &w->ln_f_w, "ln_f.weight", C, 0, &rc, err);
    want_tensor(&ld, &w->ln_f_b, "ln_f.bias", C, 0, &rc, err);
    /* lm_head.weight sits outside the "transformer." prefix when present. */
    if (rc == 0 && st_find(&ld.st, "lm_head.weight")) {
        const char *saved = ld.prefix;
        ld.prefix = "";
        want_matrix(&ld, &w->lm_head, "lm_head.weight", V, C, &rc, err);
        ld.prefix = saved;
    }
    m->cfg = c;
    strcpy(m->dtype, ld.dtype);
    int filled = rc == 0;
    if (rc == 0) rc = fill_weights(&ld, m, err);
    int kept = 0; /* the file stays mapped while weights are used in place from it (and until gpt2_free
                   * after a failed fill, which set them too) */
    for (int i = 0; filled && i < ld.n_want && !kept; i++) kept = in_place(&ld, &ld.want[i]) != NULL;
    if (kept) st_keep_map(&ld.st, &m->map, &m->map_len);
    free(ld.want);
    st_close(&ld.st);
    if (rc) {
        gpt2_free(m);
        return rc;
    }
    m->n_params = (size_t)(V * C + NCTX * C + 2 * C) +
                  (size_t)c.n_layer * (size_t)(4 * C + C * 3 * C + 3 * C + C * C + C + C * FF + FF + FF * C + C) +
                  (w->lm_head.f || w->lm_head.h ? (size_t)(V * C) : 0);
    m->dir = xstrdup(model_dir);
    const char *base = model_dir + strlen(model_dir);
    while (base > model_dir && base[-1] == '/') base--;
    const char *end = base;
    while (base > model_dir && base[-1] != '/') base--;
    m->name = xmalloc((size_t)(end - base) + 1);
    memcpy(m->name, base, (size_t)(end - base));
    m->name[end - base] = 0;
    return 0;
}

/* Whether p is one of the load's own (in the block of converted weights or the mapped file), not
 * allocated on its own (a model built by hand: tests/bench.c). */
static int loaded_block(const Gpt2Model *m, const void *p) {
    const unsigned char *b = p;
    return (m->arena && b >= (const unsigned char *)m->arena && b < (const unsigned char *)m->arena + m->arena_bytes) ||
           (m->map && b >= m->map && b < m->map + m->map_len);
}

void gpt2_free(Gpt2Model *m) {
    Gpt2Weights *w = &m->w;
    float *top[] = {w->wte.f, w->wpe.f, w->ln_f_w, w->ln_f_b, w->lm_head.f};
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        if (!loaded_block(m, top[i])) free(top[i]);
    if (w->h)
        for (int l = 0; l < m->cfg.n_layer; l++) {
            Gpt2Layer *h = &w->h[l];
            float *all[] = {h->ln_1_w, h->ln_1_b, h->attn_w.f, h->attn_b, h->attn_proj_w.f, h->attn_proj_b,
                            h->ln_2_w, h->ln_2_b, h->fc_w.f,   h->fc_b,   h->fc_proj_w.f,   h->fc_proj_b};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
                if (!loaded_block(m, all[i])) free(all[i]);
        }
    free(w->h);
    big_free(m->arena, m->arena_bytes);
    st_unmap(m->map, m->map_len);
    free(m->dir);
    free(m->name);
    memset(m, 0, sizeof *m);
}

WMat gpt2_output_matrix(const Gpt2Model *m) { return m->w.lm_head.f || m->w.lm_head.h ? m->w.lm_head : m->w.wte; }

const char *gpt2_weights_where(const Gpt2Model *m) {
    if (m->half) return m->arena && strcmp(m->dtype, "F16") ? "partly converted" : "float16 used in place";
    return m->arena ? (m->map ? "partly converted" : "converted to float32") : "float32 used in place";
}

char *gpt2_resolve_model(const char *arg, Err *err) {
    if (!arg || !*arg) arg = GPT2_DEFAULT_MODEL;
    if (strchr(arg, '/') || path_is_dir(arg)) {
        if (path_is_dir(arg)) return xstrdup(arg);
        err_set(err, "%s: model directory not found", arg);
        return NULL;
    }
    char *root = models_root();
    if (root) {
        char *p = path_join(root, arg);
        if (path_is_dir(p)) {
            free(root);
            return p;
        }
        free(p);
    }
    err_set(err, "model '%s' not found: not a directory, and not in %s/ (download one with 'make %s'; see docs/models.md)",
            arg, root ? root : "models", arg);
    free(root);
    return NULL;
}
