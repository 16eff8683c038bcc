/* safetensors.h - reads Hugging Face .safetensors files and enforces every rule of the format.
 * It knows nothing about GPT-2: model.c asks it for tensors by name and checks their shapes. */
#ifndef GPTSTEP_SAFETENSORS_H
#define GPTSTEP_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define ST_MAX_HEADER 100000000ull /* MAX_HEADER_SIZE of the reference reader */
#define ST_MAX_DIMS 8

typedef struct {
    char *name;
    char dtype[16];       /* "F32", "F16", "BF16", ... as written in the file */
    int bits;             /* bits per element of dtype */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    uint64_t begin, end;  /* byte offsets relative to the data section */
} StTensor;

typedef struct {
    char *path;
    const unsigned char *map; /* the whole file, mapped read-only */
    size_t file_len;
    size_t data_start;        /* 8 + header length; may be unaligned (14,291 for gpt2) */
    StTensor *tensors;        /* sorted by begin offset */
    int n_tensors;
} StFile;

/* Opens and validates path: header size, JSON, dtypes, shapes vs byte sizes (overflow-checked),
 * contiguous offsets from 0, exact file length. On error the message names the file and the tensor. */
int st_open(StFile *f, const char *path, Err *err);
void st_close(StFile *f);
/* Hands the mapping over to the caller (to st_unmap when done): st_close then leaves it mapped. While it
 * is kept, a SIGBUS reading it (the file truncated or rewritten in place) ends the process with one
 * line naming the file, exit status 1. */
void st_keep_map(StFile *f, const unsigned char **map, size_t *len);
void st_unmap(const unsigned char *map, size_t len);

const StTensor *st_find(const StFile *f, const char *name);
int64_t st_numel(const StTensor *t);

/* Copies a F32, F16 or BF16 tensor into out as float32 (unaligned-safe). */
int st_read_f32(const StFile *f, const StTensor *t, float *out, Err *err);

/* Bits per element of a dtype string, or 0 if the dtype is unknown. */
int st_dtype_bits(const char *dtype);

#endif
