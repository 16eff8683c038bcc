/* safetensors.c - maps a .safetensors file, parses its JSON header with cJSON and validates it as the
 * reference reader does (huggingface/safetensors read_metadata / Metadata::validate). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* madvise */
#include "safetensors.h"

#include "ops.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file mapped read-only at a 2 MB boundary: where the kernel keeps a file's pages in 2 MB folios
 * (recent kernels do for ext4 and xfs), the mapping can then use 2 MB page table entries for them, as
 * weights used in place from the file want (model.c). Anywhere else, where the kernel places it. */
static void *map_file(int fd, size_t len) {
#if defined(__linux__) && !defined(__EMSCRIPTEN__)
    const size_t A = (size_t)2 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
    unsigned char *r = mmap(NULL, len + A, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r != MAP_FAILED) {
        unsigned char *a = (unsigned char *)(((uintptr_t)r + A - 1) & ~(uintptr_t)(A - 1));
        void *m = mmap(a, len, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
        if (m != MAP_FAILED) { /* the reservation's head and tail go back */
            unsigned char *end = a + (len + page - 1) / page * page;
            if (a > r) munmap(r, (size_t)(a - r));
            if (r + len + A > end) munmap(end, (size_t)(r + len + A - end));
            return m;
        }
        munmap(r, len + A);
    }
#endif
    return mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
}

static const struct { const char *name; int bits; } DTYPES[] = {
    {"BOOL", 8},     {"F4", 4},       {"F6_E2M3", 6},     {"F6_E3M2", 6},     {"U8", 8},
    {"I8", 8},       {"F8_E5M2", 8},  {"F8_E4M3", 8},     {"F8_E8M0", 8},     {"F8_E4M3FNUZ", 8},
    {"F8_E5M2FNUZ", 8}, {"I16", 16},  {"U16", 16},        {"F16", 16},        {"BF16", 16},
    {"I32", 32},     {"U32", 32},     {"F32", 32},        {"C64", 64},        {"F64", 64},
    {"I64", 64},     {"U64", 64},
};

int st_dtype_bits(const char *dtype) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, dtype) == 0) return DTYPES[i].bits;
    return 0;
}

int64_t st_numel(const StTensor *t) {
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

/* A JSON number that is a whole number in [0, 2^53] (exactly representable), else -1. */
static int64_t json_uint(const cJSON *v) {
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(int64_t)d) return -1;
    return (int64_t)d;
}

static int cmp_offsets(const void *a, const void *b) {
    const StTensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Parses one tensor entry {"dtype","shape","data_offsets"} into t. */
static int parse_entry(const char *path, const cJSON *e, StTensor *t, Err *err) {
    if (!cJSON_IsObject(e))
        return err_set(err, "%s: tensor '%s': expected a JSON object with dtype, shape, data_offsets", path, t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
        return err_set(err, "%s: tensor '%s': missing or mistyped dtype, shape or data_offsets", path, t->name);
    t->bits = st_dtype_bits(dt->valuestring);
    if (t->bits == 0 || strlen(dt->valuestring) >= sizeof t->dtype)
        return err_set(err, "%s: tensor '%s': unknown dtype '%.40s'", path, t->name, dt->valuestring);
    strcpy(t->dtype, dt->valuestring);
    int nd = cJSON_GetArraySize(sh);
    if (nd > ST_MAX_DIMS)
        return err_set(err, "%s: tensor '%s': %d dimensions, at most %d supported", path, t->name, nd, ST_MAX_DIMS);
    t->ndim = nd;
    /* Element count with checked multiplication (ValidationOverflow in the reference reader). */
    uint64_t numel = 1;
    for (int i = 0; i < nd; i++) {
        int64_t d = json_uint(cJSON_GetArrayItem(sh, i));
        if (d < 0) return err_set(err, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, t->name, i);
        t->shape[i] = d;
        if (d != 0 && numel > UINT64_MAX / (uint64_t)d)
            return err_set(err, "%s: tensor '%s': shape overflows 64 bits", path, t->name);
        numel *= (uint64_t)d;
    }
    if (numel > UINT64_MAX / (uint64_t)t->bits)
        return err_set(err, "%s: tensor '%s': byte size overflows 64 bits", path, t->name);
    uint64_t nbits = numel * (uint64_t)t->bits;
    if (nbits % 8)
        return err_set(err, "%s: tensor '%s': %llu bits is not a whole number of bytes", path, t->name,
                       (unsigned long long)nbits);
    if (cJSON_GetArraySize(off) != 2)
        return err_set(err, "%s: tensor '%s': data_offsets must be [begin, end]", path, t->name);
    int64_t b = json_uint(cJSON_GetArrayItem(off, 0)), e2 = json_uint(cJSON_GetArrayItem(off, 1));
    if (b < 0 || e2 < 0)
        return err_set(err, "%s: tensor '%s': data_offsets are not non-negative integers", path, t->name);
    if (e2 < b)
        return err_set(err, "%s: tensor '%s': data_offsets end %lld is before begin %lld", path, t->name,
                       (long long)e2, (long long)b);
    t->begin = (uint64_t)b;
    t->end = (uint64_t)e2;
    if (t->end - t->begin != nbits / 8)
        return err_set(err, "%s: tensor '%s': data_offsets span %llu bytes, expected %llu for %s shape", path,
                       t->name, (unsigned long long)(t->end - t->begin), (unsigned long long)(nbits / 8), t->dtype);
    return 0;
}

/* Checks the header object: metadata is string->string, no duplicate names, every entry well formed. */
static int parse_header(StFile *f, const cJSON *root, Err *err) {
    if (!cJSON_IsObject(root)) return err_set(err, "%s: header is not a JSON object", f->path);
    int n = 0;
    for (const cJSON *it = root->child; it; it = it->next) n++;
    f->tensors = xcalloc((size_t)n + 1, sizeof(StTensor));
    char **names = xcalloc((size_t)n + 1, sizeof(char *));
    int nn = 0, rc = 0;
    for (const cJSON *it = root->child; it && rc == 0; it = it->next) {
        names[nn++] = it->string;
        if (strcmp(it->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) {
                rc = err_set(err, "%s: __metadata__ must be an object of strings", f->path);
                break;
            }
            for (const cJSON *m = it->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    rc = err_set(err, "%s: __metadata__ value '%s' is not a string", f->path, m->string);
                    break;
                }
            continue;
        }
        StTensor *t = &f->tensors[f->n_tensors++];
        t->name = xstrdup(it->string);
        rc = parse_entry(f->path, it, t, err);
    }
    if (rc == 0) {
        qsort(names, (size_t)nn, sizeof(char *), cmp_names);
        for (int i = 1; i < nn; i++)
            if (strcmp(names[i - 1], names[i]) == 0) {
                rc = err_set(err, "%s: header names '%s' twice", f->path, names[i]);
                break;
            }
    }
    free(names);
    return rc;
}

/* Offsets must tile the data section exactly: sorted, each starting at the previous end, from 0. */
static int check_layout(StFile *f, Err *err) {
    qsort(f->tensors, (size_t)f->n_tensors, sizeof(StTensor), cmp_offsets);
    uint64_t expect = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const StTensor *t = &f->tensors[i];
        if (t->begin != expect)
            return err_set(err, "%s: tensor '%s': data begins at byte %llu, expected %llu (%s)", f->path, t->name,
                           (unsigned long long)t->begin, (unsigned long long)expect,
                           t->begin < expect ? "overlaps the previous tensor" : "leaves a gap");
        expect = t->end;
    }
    uint64_t data_len = (uint64_t)(f->file_len - f->data_start);
    if (expect != data_len)
        return err_set(err, "%s: file is %zu bytes, expected %llu from its header (%s)", f->path, f->file_len,
                       (unsigned long long)(f->data_start + expect),
                       expect > data_len ? "truncated" : "trailing bytes");
    return 0;
}

int st_open(StFile *f, const char *path, Err *err) {
    memset(f, 0, sizeof *f);
    f->path = xstrdup(path);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        err_set(err, "%s: cannot open: %s", path, strerror(errno));
        st_close(f);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        err_set(err, "%s: not a regular file", path);
        st_close(f);
        return -1;
    }
    f->file_len = (size_t)st.st_size;
    if (f->file_len < 8) {
        close(fd);
        err_set(err, "%s: file is %zu bytes, expected at least 8 (header size)", path, f->file_len);
        st_close(f);
        return -1;
    }
    void *map = map_file(fd, f->file_len);
    close(fd);
    if (map == MAP_FAILED) {
        err_set(err, "%s: cannot map: %s", path, strerror(errno));
        st_close(f);
        return -1;
    }
    f->map = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | f->map[i]; /* u64 little-endian */
    int rc = 0;
    if (hlen > ST_MAX_HEADER)
        rc = err_set(err, "%s: header length %llu is larger than the %llu-byte limit", path,
                     (unsigned long long)hlen, ST_MAX_HEADER);
    else if (hlen > f->file_len - 8)
        rc = err_set(err, "%s: header length %llu runs past the end of the %zu-byte file (truncated?)", path,
                     (unsigned long long)hlen, f->file_len);
    size_t bad = 0;
    if (rc == 0 && !utf8_valid((const char *)f->map + 8, (size_t)hlen, &bad))
        rc = err_set(err, "%s: header is not valid UTF-8 (byte %zu)", path, 8 + bad);
    if (rc == 0) {
        f->data_start = 8 + (size_t)hlen;
        cJSON *root = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)hlen);
        if (!root)
            rc = err_set(err, "%s: header is not valid JSON", path);
        else
            rc = parse_header(f, root, err);
        cJSON_Delete(root);
    }
    if (rc == 0) rc = check_layout(f, err);
    if (rc != 0) st_close(f);
    return rc;
}

/* Mappings kept for a program's life (weights used in place), each with its file's path: a file
 * truncated or rewritten in place under its mapping makes the next read of a page it lost raise SIGBUS,
 * which would kill the process with "Bus error". The handler turns that into one line naming the file,
 * and exits 1; a SIGBUS anywhere else goes to the handler there was before. */
#if defined(SA_SIGINFO) && !defined(__EMSCRIPTEN__)
enum { N_KEPT = 16 };
static struct {
    _Atomic uintptr_t lo; /* 0: a free slot */
    uintptr_t hi;
    char path[1024];
} kept[N_KEPT];
static struct sigaction before;
static atomic_int handler_set;

static void put(const char *s) {
    for (size_t n = strlen(s); n > 0;) {
        ssize_t w = write(2, s, n);
        if (w <= 0) return;
        s += w, n -= (size_t)w;
    }
}

static void on_sigbus(int sig, siginfo_t *si, void *uctx) {
    const uintptr_t a = (uintptr_t)si->si_addr;
    for (int i = 0; i < N_KEPT; i++) {
        uintptr_t lo = atomic_load(&kept[i].lo);
        if (lo && a >= lo && a < kept[i].hi) {
            put("gptstep: ");
            put(kept[i].path);
            put(": the file changed on disk while its weights were read from it in place (truncated or "
                "rewritten); run again (GPTSTEP_COPY_WEIGHTS=1 copies the weights at load instead)\n");
            _exit(1);
        }
    }
    (void)sig, (void)uctx;
    sigaction(SIGBUS, &before, NULL); /* not ours: returning runs the faulting read again, under it */
}

static void guard(const unsigned char *map, size_t len, const char *path) {
    if (!atomic_exchange(&handler_set, 1)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_sigbus;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGBUS, &sa, &before);
    }
    for (int i = 0; i < N_KEPT; i++) {
        uintptr_t zero = 0;
        if (atomic_load(&kept[i].lo) != 0) continue;
        snprintf(kept[i].path, sizeof kept[i].path, "%s", path);
        kept[i].hi = (uintptr_t)map + len;
        if (atomic_compare_exchange_strong(&kept[i].lo, &zero, (uintptr_t)map)) return;
    }
}

static void unguard(const unsigned char *map) {
    for (int i = 0; i < N_KEPT; i++)
        if (atomic_load(&kept[i].lo) == (uintptr_t)map) atomic_store(&kept[i].lo, 0);
}
#else
static void guard(const unsigned char *map, size_t len, const char *path) { (void)map, (void)len, (void)path; }
static void unguard(const unsigned char *map) { (void)map; }
#endif

void st_keep_map(StFile *f, const unsigned char **map, size_t *len) {
    *map = f->map, *len = f->file_len;
    guard(f->map, f->file_len, f->path);
    f->map = NULL;
}

void st_unmap(const unsigned char *map, size_t len) {
    if (!map) return;
    unguard(map);
    munmap((void *)map, len);
}

void st_close(StFile *f) {
    if (f->map) munmap((void *)f->map, f->file_len);
    for (int i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    free(f->tensors);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0) return &f->tensors[i];
    return NULL;
}

int st_read_f32(const StFile *f, const StTensor *t, float *out, Err *err) {
    const unsigned char *src = f->map + f->data_start + t->begin;
    int64_t n = st_numel(t);
    if (strcmp(t->dtype, "F32") == 0) {
        memcpy(out, src, (size_t)n * 4); /* memcpy: the data section may be unaligned */
    } else if (strcmp(t->dtype, "F16") == 0 || strcmp(t->dtype, "BF16") == 0) {
        half_to_f32_fast(out, src, (size_t)n, t->dtype[0] == 'B');
    } else {
        return err_set(err, "%s: tensor '%s': dtype %s, expected F32, F16 or BF16", f->path, t->name, t->dtype);
    }
    /* the mapped pages are read once: give them back, so that loading holds the float32 weights and not
     * the file's bytes as well (they are the page cache's to keep, and re-read if touched again) */
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t a = (uintptr_t)src, e = a + (uintptr_t)(t->end - t->begin);
    a = (a + (uintptr_t)page - 1) & ~((uintptr_t)page - 1); /* whole pages inside this tensor only */
    e &= ~((uintptr_t)page - 1);
    if (page > 0 && e > a) madvise((void *)a, e - a, MADV_DONTNEED);
    return 0;
}
