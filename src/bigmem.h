/* bigmem.h - large blocks of fresh memory: the converted weights, the trace's chunks.
 *
 * Fresh memory costs its first write to every page (a page fault). Whether 4 KB pages or transparent
 * huge pages (2 MB, madvised) fill faster depends on the kernel and its settings: on one machine huge
 * pages filled at 0.36 GB/s against 2.3 for 4 KB pages (compaction on the faulting thread), on another
 * 4 KB pages filled at 0.3-0.4 GB/s against 3-11 for huge ones. So gptstep does not decide: the first
 * block of a process measures both (a few milliseconds) and every block then uses the faster
 * (GPTSTEP_HUGEPAGES=0 or 1 decides instead). docs/performance.md has the figures. */
#ifndef GPTSTEP_BIGMEM_H
#define GPTSTEP_BIGMEM_H

#include <stdatomic.h>
#include <stddef.h>

/* At least bytes of zeroed memory at a 2 MB boundary (exits on out of memory, as xmalloc); blocks under
 * 16 MB in 4 KB pages, without measuring. */
void *big_alloc(size_t bytes);
void big_free(void *p, size_t bytes);
/* The same for scratch a pass is about to write all of (the forward pass's buffers): blocks of 2 MB or
 * more in the page size measured faster, their pages faulted in on all threads before returning. */
void *big_alloc_fill(size_t bytes);
/* The same, in huge pages whenever the kernel gives them, whatever the measurement says: for memory read
 * over and over (the weights), where the TLB's reach matters more than how fast the block first fills. */
void *big_alloc_huge(size_t bytes);
/* Whether the kernel gives transparent huge pages at all (its setting is not "never"). */
int bigmem_thp(void);
/* What big_alloc(bytes) really takes: bytes rounded up to 2 MB. */
size_t bigmem_size(size_t bytes);
/* Writes every page of a block big_alloc returned and nothing has written yet, on all threads: its page
 * faults taken ahead of the work that will fill it. */
void big_prefault(void *p, size_t bytes);
/* The same on this one thread, a page at a time, stopping early once *stop is set (checked every 2 MB):
 * for a helper thread that takes the faults of memory the next pass will fill while the program's other
 * threads do work of their own (src/generate.c). Returns the bytes it faulted in. */
size_t big_prefault_until(void *p, size_t bytes, const atomic_int *stop);
/* 1 when blocks use huge pages (measured, or GPTSTEP_HUGEPAGES), and the rates measured (GB/s; 0 when
 * not measured). */
int bigmem_huge(void);
void bigmem_rates(double *small, double *huge);

#endif
