/* common.h - small helpers shared by the gptstep core: error messages, files, UTF-8, number formats.
 * Not a framework: just the few things every module of src/ needs. Never includes SDL or cairo. */
#ifndef GPTSTEP_COMMON_H
#define GPTSTEP_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* An error is one line of text: "<file>: <thing>: got X, expected Y".
 * Functions that can fail return 0 on success, -1 on failure and fill *err. */
typedef struct {
    char msg[1024];
} Err;

#if defined(__GNUC__)
#define GS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define GS_PRINTF(a, b)
#endif

int err_set(Err *err, const char *fmt, ...) GS_PRINTF(2, 3); /* always returns -1 */

/* The one way gptstep reads a whole number from text: decimal digits with an optional '-', no overflow
 * (a number past the range of long is an error, never wrapped). parse_int_prefix reads it at the start of
 * s and sets *end after it; parse_int needs all of s. Both return 0, or -1 when there is no number or it
 * is past [lo, hi] (then *out holds what was read, clamped to the range of long, for the message). */
int parse_int_prefix(const char *s, long lo, long hi, long *out, const char **end);
int parse_int(const char *s, long lo, long hi, long *out);

/* Reads a whole file; *data is NUL-terminated (not counted in *len). Caller frees. */
int read_file(const char *path, char **data, size_t *len, Err *err);

/* Memory: these print a message and exit on out-of-memory (the only non-recoverable case). */
/* Says "out of memory (asked for N bytes)" and exits 3: what every allocation does when it fails. */
void out_of_memory(size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
/* 64-byte aligned, zeroed allocation for tensors; free with free(). */
float *alloc_floats(size_t n);

/* UTF-8: returns the length (1-4) of the valid sequence at s, or 0 if it is invalid or incomplete. */
int utf8_seq_len(const unsigned char *s, size_t avail);
/* Returns 1 if [s, s+len) is valid UTF-8; otherwise 0 and the byte offset of the first bad byte. */
int utf8_valid(const char *s, size_t len, size_t *bad_at);

/* Number formats of checkpoints. */
float f16_to_f32(uint16_t h);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);   /* round to nearest even */
uint16_t f32_to_bf16(float f);  /* round to nearest even */

/* Path helpers. */
int path_is_dir(const char *path);
int path_is_file(const char *path);
/* Joins a and b with '/'; caller frees. */
char *path_join(const char *a, const char *b);

/* The folder of shipped models: $GPTSTEP_MODELS, else models/ beside the executable or one folder up,
 * else ./models.
 * malloc'd, or NULL when none exists. */
char *models_root(void);

/* Memory available to a new allocation, in bytes (Linux's MemAvailable), or -1 when unknown. */
double mem_available_bytes(void);

/* Wall clock in seconds (monotonic). */
double now_seconds(void);

#endif
