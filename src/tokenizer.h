/* tokenizer.h - GPT-2's byte-level BPE: text <-> token ids, exactly as OpenAI's encoder.py.
 * Reads encoder.json + vocab.bpe (or the identical vocab.json + merges.txt). Pre-tokenization uses
 * PCRE2 with Unicode properties; "<|endoftext|>" can be recognised as the special token. */
#ifndef GPTSTEP_TOKENIZER_H
#define GPTSTEP_TOKENIZER_H

#include <stddef.h>

#include "common.h"

typedef struct Tokenizer Tokenizer;

/* Loads the vocabulary from DIR (encoder.json + vocab.bpe, or vocab.json + merges.txt). */
Tokenizer *tok_load(const char *dir, Err *err);
/* Loads from a model directory, falling back to the shipped models/tokenizer when the model has none. */
Tokenizer *tok_load_for_model(const char *model_dir, Err *err);
void tok_free(Tokenizer *t);

int tok_vocab_size(const Tokenizer *t);
int tok_eot(const Tokenizer *t); /* id of <|endoftext|> (50256) */

/* Encodes UTF-8 text into ids. With allow_special, "<|endoftext|>" becomes tok_eot(); otherwise it is
 * ordinary text. Fails on invalid UTF-8, naming the byte offset. *ids is malloc'd. */
int tok_encode(Tokenizer *t, const char *text, size_t len, int allow_special, int **ids, int *n, Err *err);

/* The raw bytes of one token (not NUL-terminated; may be part of a UTF-8 character). */
const char *tok_bytes(const Tokenizer *t, int id, int *len);
/* The token whose bytes are exactly `piece` (" castle"), or -1 when no single token is. */
int tok_id_of_piece(const Tokenizer *t, const char *piece);

/* Decodes ids into a malloc'd NUL-terminated string; invalid UTF-8 becomes U+FFFD (errors='replace').
 * A token can stand for the byte 0 (id 188): *len (when not NULL) counts every byte, that one too. */
char *tok_decode(const Tokenizer *t, const int *ids, int n);
char *tok_decode_len(const Tokenizer *t, const int *ids, int n, size_t *len);

/* Streaming decode: push one token's bytes, get back the UTF-8 text that is complete so far.
 * An incomplete UTF-8 sequence is held until a later token completes it (or flush replaces it). */
typedef struct {
    unsigned char pending[8];
    int n_pending;
    char out[1024];
    size_t len; /* bytes of the last text returned (it may hold a byte 0) */
} TokStream;
void tok_stream_init(TokStream *s);
/* Returns a pointer to NUL-terminated text valid until the next call (into s->out or t's storage). */
const char *tok_stream_push(TokStream *s, const Tokenizer *t, int id);
const char *tok_stream_flush(TokStream *s);

/* BPE of one pre-token's bytes (out holds n ids; returns how many): the O(n log n) version the encoder
 * uses, and the plain quadratic one it is tested against. */
int tok_bpe(const Tokenizer *t, const unsigned char *s, int n, int *out);
int tok_bpe_plain(const Tokenizer *t, const unsigned char *s, int n, int *out);

/* A token as a person sees it: the one owner of its display text. TOK_SHOW_TERMINAL: its bytes with \n,
 * \t, \r, \\ and other control bytes escaped (\xHH), so that no byte a terminal would act on gets through;
 * TOK_SHOW_SCREEN: the viewer's form, where a space is an open box, a new line a return arrow, a tab a
 * tab arrow and an empty token the empty set. In both, bytes that are not whole UTF-8 characters (a
 * byte token, part of a character) are written \xHH. */
typedef enum { TOK_SHOW_TERMINAL, TOK_SHOW_SCREEN } TokShow;
void tok_show(const Tokenizer *t, int id, TokShow how, char *out, size_t cap);
void tok_show_bytes(const char *bytes, int len, TokShow how, char *out, size_t cap);

#endif
