/* bigmem.c - large blocks of fresh memory (the weights, the trace's chunks), in the page size that
 * fills fastest on this machine, decided by measuring both once per process (bigmem.h). */
#define _DEFAULT_SOURCE
#include "bigmem.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common.h"

#define HUGE_PAGE ((size_t)2 << 20)
#define SMALL_BLOCK ((size_t)16 << 20)

#if defined(MADV_HUGEPAGE) && !defined(__EMSCRIPTEN__)
#define HAVE_HUGE 1
#else
#define HAVE_HUGE 0
#endif

static atomic_int choice = -1; /* -1: not measured yet; 0: 4 KB pages; 1: madvised huge pages */
static double rate[2];          /* GB/s each filled at, when measured */

/* A region of bytes (a multiple of 2 MB) at a 2 MB boundary, not yet touched. */
static void *map_aligned(size_t bytes) {
#ifdef __EMSCRIPTEN__
    void *p = aligned_alloc(64, bytes);
    if (p) memset(p, 0, bytes);
    return p;
#else
    size_t span = bytes + HUGE_PAGE;
    unsigned char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return NULL;
    uintptr_t a = ((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    if (a > (uintptr_t)m) munmap(m, a - (uintptr_t)m); /* the unaligned head and tail go back */
    size_t tail = (size_t)((uintptr_t)m + span - (a + bytes));
    if (tail) munmap((void *)(a + bytes), tail);
    return (void *)a;
#endif
}

static void unmap(void *p, size_t bytes) {
#ifdef __EMSCRIPTEN__
    (void)bytes;
    free(p);
#else
    munmap(p, bytes);
#endif
}

/* GB/s at which a fresh 4 MB block fills (the first write to each page), in 4 KB or huge pages. */
static double measure(int huge) {
    const size_t bytes = 2 * HUGE_PAGE;
    unsigned char *p = map_aligned(bytes);
    if (!p) return 0;
#if HAVE_HUGE
    if (huge) madvise(p, bytes, MADV_HUGEPAGE);
#else
    (void)huge;
#endif
    double t0 = now_seconds();
    for (size_t i = 0; i < bytes; i += 4096) p[i] = 1;
    double dt = now_seconds() - t0;
    unmap(p, bytes);
    return (double)bytes / (dt > 1e-9 ? dt : 1e-9) / 1e9;
}

int bigmem_huge(void) {
    int c = atomic_load(&choice);
    if (c >= 0) return c;
    const char *env = getenv("GPTSTEP_HUGEPAGES");
    if (env && (!strcmp(env, "0") || !strcmp(env, "1"))) c = env[0] == '1';
    else if (!HAVE_HUGE) c = 0;
    else {
        /* each twice, alternating, the better of two: a first touch of the allocator's own is not the
         * machine's speed */
        double r4 = 0, rh = 0;
        for (int i = 0; i < 2; i++) {
            double a = measure(0), b = measure(1);
            r4 = a > r4 ? a : r4, rh = b > rh ? b : rh;
        }
        rate[0] = r4, rate[1] = rh;
        c = rh > r4;
    }
    int expect = -1;
    atomic_compare_exchange_strong(&choice, &expect, c);
    return atomic_load(&choice);
}

void bigmem_rates(double *small, double *huge) {
    bigmem_huge();
    *small = rate[0], *huge = rate[1];
}

size_t bigmem_size(size_t bytes) { return bytes ? (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE : HUGE_PAGE; }

/* A fresh block; huge pages when it is at least min bytes and they fill faster. */
static void *alloc_block(size_t bytes, size_t min) {
    size_t n = bigmem_size(bytes);
    void *p = map_aligned(n);
    if (!p) out_of_memory(n);
#if HAVE_HUGE
    if (n >= min && bigmem_huge()) madvise(p, n, MADV_HUGEPAGE);
#else
    (void)min;
#endif
    return p;
}

/* a small block is not worth the measuring (about 10 ms, once): 4 KB pages */
void *big_alloc(size_t bytes) { return alloc_block(bytes, SMALL_BLOCK); }

void *big_alloc_fill(size_t bytes) {
    void *p = alloc_block(bytes, HUGE_PAGE);
    big_prefault(p, bigmem_size(bytes));
    return p;
}

int bigmem_thp(void) {
    static int thp = -1;
    if (thp >= 0) return thp;
#if HAVE_HUGE
    char buf[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (f) {
        if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
        fclose(f);
    }
    thp = buf[0] && !strstr(buf, "[never]");
#else
    thp = 0;
#endif
    return thp;
}

void *big_alloc_huge(size_t bytes) {
    size_t n = bigmem_size(bytes);
    void *p = map_aligned(n);
    if (!p) out_of_memory(n);
#if HAVE_HUGE
    if (bigmem_thp()) madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

void big_free(void *p, size_t bytes) {
    if (p) unmap(p, bigmem_size(bytes));
}

void big_prefault(void *p, size_t bytes) {
    unsigned char *b = p;
    const long blocks = (long)((bytes + HUGE_PAGE - 1) / HUGE_PAGE);
#pragma omp parallel for schedule(static)
    for (long k = 0; k < blocks; k++) {
        size_t end = ((size_t)k + 1) * HUGE_PAGE < bytes ? ((size_t)k + 1) * HUGE_PAGE : bytes;
        for (size_t i = (size_t)k * HUGE_PAGE; i < end; i += 4096) b[i] = 0;
    }
}

size_t big_prefault_until(void *p, size_t bytes, const atomic_int *stop) {
    unsigned char *b = p;
    size_t done = 0;
    while (done < bytes && !atomic_load_explicit(stop, memory_order_relaxed)) {
        size_t end = done + HUGE_PAGE < bytes ? done + HUGE_PAGE : bytes;
        for (size_t i = done; i < end; i += 4096) b[i] = 0;
        done = end;
    }
    return done;
}
