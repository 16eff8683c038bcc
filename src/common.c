/* common.c - error messages, whole-file reads, UTF-8 checks and float16/bfloat16 conversion. */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <limits.h>
#include <unistd.h>

int err_set(Err *err, const char *fmt, ...) {
    if (err) {
        char raw[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        /* One line, whatever a file or a person supplied: control characters (newlines, terminal
         * escapes) and bytes that are not UTF-8 are written as \n, \t, \xNN; a message cut at the
         * buffer's end ends with "..." */
        size_t k = 0, n = strlen(raw), cap = sizeof err->msg - 4;
        for (size_t i = 0; i < n && k < cap;) {
            unsigned char c = (unsigned char)raw[i];
            int l = utf8_seq_len((const unsigned char *)raw + i, n - i);
            if (c == '\n' || c == '\t' || c == '\r') {
                if (k + 2 > cap) break;
                err->msg[k++] = '\\', err->msg[k++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
                i++;
            } else if (c < 0x20 || c == 0x7f || l == 0) {
                if (k + 4 > cap) break;
                k += (size_t)snprintf(err->msg + k, 5, "\\x%02x", c);
                i++;
            } else {
                if (k + (size_t)l > cap) break;
                memcpy(err->msg + k, raw + i, (size_t)l);
                k += (size_t)l, i += (size_t)l;
            }
        }
        if (k >= cap || n >= sizeof raw - 1) memcpy(err->msg + k, "...", 3), k += 3;
        err->msg[k] = 0;
    }
    return -1;
}

void out_of_memory(size_t n) {
    fprintf(stderr, "gptstep: out of memory (asked for %zu bytes)\n", n);
    exit(3);
}

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t size) {
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) out_of_memory(count * size);
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) out_of_memory(n);
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

float *alloc_floats(size_t n) {
    size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    float *p = aligned_alloc(64, bytes);
    if (!p) out_of_memory(bytes);
    memset(p, 0, bytes);
    return p;
}

int read_file(const char *path, char **data, size_t *len, Err *err) {
    if (path_is_dir(path)) return err_set(err, "%s: is a folder, expected a file", path);
    FILE *f = fopen(path, "rb");
    if (!f) return err_set(err, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return err_set(err, "%s: read error", path);
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int utf8_seq_len(const unsigned char *s, size_t avail) {
    if (avail == 0) return 0;
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int n;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) { n = 2; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; min = 0x10000; }
    else return 0;
    if (avail < (size_t)n) return 0;
    unsigned cp = c & (0x7F >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

int utf8_valid(const char *s, size_t len, size_t *bad_at) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        int n = utf8_seq_len(u + i, len - i);
        if (n == 0) {
            if (bad_at) *bad_at = i;
            return 0;
        }
        i += (size_t)n;
    }
    return 1;
}

/* IEEE half: 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
float f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: renormalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7F800000u | (man << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* bfloat16 is the top half of a float32. */
float bf16_to_f32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t f32_to_bf16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    if ((bits & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((bits >> 16) | 0x40); /* NaN */
    bits += 0x7FFF + ((bits >> 16) & 1);
    return (uint16_t)(bits >> 16);
}

uint16_t f32_to_f16(float f) {
    uint32_t bits;
    memcpy(&bits, &f, 4);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t absb = bits & 0x7FFFFFFF;
    if (absb > 0x7F800000) return sign | 0x7E00;
    if (absb >= 0x477FF000) return sign | 0x7C00; /* overflow to infinity */
    if (absb < 0x38800000) {                       /* subnormal or zero */
        if (absb < 0x33000000) return sign;
        uint32_t man = (absb & 0x7FFFFF) | 0x800000;
        int shift = 113 - (int)(absb >> 23) + 13;
        uint32_t half = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t h = ((absb >> 13) - ((127 - 15) << 10));
    uint32_t rem = absb & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return sign | (uint16_t)h;
}

int path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int path_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *path_join(const char *a, const char *b) {
    size_t na = strlen(a), nb = strlen(b);
    char *p = xmalloc(na + nb + 2);
    memcpy(p, a, na);
    size_t k = na;
    if (na && a[na - 1] != '/') p[k++] = '/';
    memcpy(p + k, b, nb + 1);
    return p;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

char *models_root(void) {
    const char *env = getenv("GPTSTEP_MODELS");
    if (env && *env && path_is_dir(env)) return xstrdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        /* models/ beside the binary, or one folder up (a binary in build/ or build-asan/) */
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash) break;
            *slash = 0;
            char *p = path_join(exe, "models/tokenizer");
            int found = path_is_dir(p);
            free(p);
            if (found) return path_join(exe, "models");
        }
    }
    if (path_is_dir("models")) return xstrdup("models");
    return NULL;
}

double mem_available_bytes(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    double kb = -1;
    if (f) {
        char line[256];
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
        fclose(f);
    }
    if (kb < 0) {
        long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
        return pages > 0 && size > 0 ? (double)pages * size : -1;
    }
    return kb * 1024;
}

int parse_int_prefix(const char *s, long lo, long hi, long *out, const char **end) {
    const char *p = s;
    int neg = *p == '-';
    if (neg) p++;
    if (*p < '0' || *p > '9') {
        *out = 0;
        if (end) *end = s;
        return -1;
    }
    long v = 0;
    int over = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
        int d = *p - '0';
        if (!over && v > (LONG_MAX - d) / 10) over = 1;
        if (!over) v = v * 10 + d;
    }
    if (end) *end = p;
    *out = over ? (neg ? LONG_MIN : LONG_MAX) : neg ? -v : v;
    return over || *out < lo || *out > hi ? -1 : 0;
}

int parse_int(const char *s, long lo, long hi, long *out) {
    const char *end;
    int rc = parse_int_prefix(s, lo, hi, out, &end);
    return rc || *end ? -1 : 0;
}

