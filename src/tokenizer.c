/* tokenizer.c - GPT-2 byte-level BPE (OpenAI encoder.py), with PCRE2 for the pre-tokenizer and cJSON for
 * encoder.json. BPE runs on token ids: every merge "A B" of rank r joins two tokens into the token A+B. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer.h"

#include <cJSON.h>
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKEN_BYTES 256
#define EOT_TEXT "<|endoftext|>"

/* The pre-tokenization pattern of encoder.py / tokenization_gpt2.py, in PCRE2 syntax (PCRE2_UTF |
 * PCRE2_UCP gives \p{L} and \p{N} the Unicode letter and number classes). \s is spelled out as the
 * Unicode White_Space property, which is what Python's `regex` module uses: PCRE2's own \s also
 * matches U+180E, which would split differently from the reference. */
#define WS "\\t\\n\\x0b\\x0c\\r \\x85\\xa0\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
static const char *PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS
                             "])|[" WS "]+";

/* ---- a small open-addressing hash map: byte string -> int ---- */
typedef struct {
    char **keys;
    int *klen;
    int *vals;
    size_t cap, n;
} StrMap;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static void strmap_init(StrMap *m, size_t cap) {
    m->cap = cap;
    m->n = 0;
    m->keys = xcalloc(cap, sizeof(char *));
    m->klen = xcalloc(cap, sizeof(int));
    m->vals = xcalloc(cap, sizeof(int));
}

static void strmap_free(StrMap *m) {
    free(m->keys);
    free(m->klen);
    free(m->vals);
}

/* Finds the slot of key (its own, or the empty one where it would go). Keys are borrowed. */
static size_t strmap_slot(const StrMap *m, const char *k, size_t n) {
    size_t i = hash_bytes(k, n) & (m->cap - 1);
    while (m->keys[i] && !((size_t)m->klen[i] == n && memcmp(m->keys[i], k, n) == 0)) i = (i + 1) & (m->cap - 1);
    return i;
}

static int strmap_get(const StrMap *m, const char *k, size_t n) {
    size_t i = strmap_slot(m, k, n);
    return m->keys[i] ? m->vals[i] : -1;
}

/* ---- pair map: (left id, right id) -> merge rank ---- */
typedef struct {
    uint64_t *keys; /* (left+1) << 32 | (right+1); 0 = empty */
    int *rank;
    size_t cap;
} PairMap;

static uint64_t pair_key(int a, int b) { return ((uint64_t)(uint32_t)(a + 1) << 32) | (uint32_t)(b + 1); }

static size_t pair_slot(const PairMap *m, uint64_t k) {
    size_t i = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
    while (m->keys[i] && m->keys[i] != k) i = (i + 1) & (m->cap - 1);
    return i;
}

/* ---- word cache: pre-token bytes -> ids (most words repeat, so BPE runs once per distinct word) ---- */
typedef struct KeyBlock {
    struct KeyBlock *next;
    size_t used;
    char data[1 << 20];
} KeyBlock;

typedef struct {
    StrMap map;     /* key bytes -> offset of its record in ids */
    int *ids;       /* records [n, id_1..id_n] */
    size_t n_ids, cap_ids;
    KeyBlock *keys; /* key storage; blocks never move, so the map can point into them */
} WordCache;

struct Tokenizer {
    int n_vocab;
    int eot;
    char **bytes;       /* (V) raw bytes of each token */
    int *len;           /* (V) */
    StrMap vocab;       /* raw bytes -> id */
    int byte_id[256];   /* id of the single-byte token for each byte */
    PairMap merges;     /* (left, right) -> rank */
    int *merge_id;      /* (n_merges) id of the merged token */
    int n_merges;
    pcre2_code *re;
    pcre2_match_data *md;
    WordCache cache;
};

/* bytes_to_unicode of encoder.py: printable bytes map to themselves, the other 68 to U+0100+n. */
static void byte_unicode_table(int *cp_of_byte) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        cp_of_byte[b] = printable ? b : 256 + n++;
    }
}

/* Converts a token string from the vocabulary files (unicode stand-ins) back to raw bytes. */
static int unicode_to_bytes(const int *byte_of_cp, const char *s, size_t n, char *out, int *out_len) {
    int k = 0;
    size_t i = 0;
    while (i < n) {
        int l = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (l == 0) return -1;
        unsigned cp = (unsigned char)s[i] & (l == 1 ? 0x7F : 0x7F >> l);
        for (int j = 1; j < l; j++) cp = (cp << 6) | ((unsigned char)s[i + j] & 0x3F);
        if (cp >= 512 || byte_of_cp[cp] < 0 || k >= MAX_TOKEN_BYTES) return -1;
        out[k++] = (char)byte_of_cp[cp];
        i += (size_t)l;
    }
    *out_len = k;
    return 0;
}

static int load_vocab(Tokenizer *t, const char *path, const int *byte_of_cp, Err *err) {
    char *text;
    size_t n;
    if (read_file(path, &text, &n, err)) return -1;
    cJSON *root = cJSON_ParseWithLength(text, n);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return err_set(err, "%s: not a JSON object of token -> id", path);
    }
    int count = cJSON_GetArraySize(root);
    t->n_vocab = count;
    t->bytes = xcalloc((size_t)count, sizeof(char *));
    t->len = xcalloc((size_t)count, sizeof(int));
    size_t cap = 1;
    while (cap < (size_t)count * 2) cap <<= 1;
    strmap_init(&t->vocab, cap);
    int rc = 0;
    for (const cJSON *it = root->child; it && rc == 0; it = it->next) {
        double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
        int id = d >= 0 && d < count ? (int)d : -1; /* converted only when it fits */
        if (d != id || id < 0 || id >= count) {
            rc = err_set(err, "%s: token '%.40s' has id %g, expected an integer in [0, %d)", path, it->string, d, count);
            break;
        }
        if (t->bytes[id]) {
            rc = err_set(err, "%s: id %d is used twice", path, id);
            break;
        }
        char buf[MAX_TOKEN_BYTES];
        int bl;
        if (strcmp(it->string, EOT_TEXT) == 0) {
            t->eot = id;
            bl = (int)strlen(EOT_TEXT);
            memcpy(buf, EOT_TEXT, (size_t)bl);
        } else if (unicode_to_bytes(byte_of_cp, it->string, strlen(it->string), buf, &bl)) {
            rc = err_set(err, "%s: token '%.40s' is not in GPT-2's byte alphabet", path, it->string);
            break;
        }
        t->bytes[id] = xmalloc((size_t)bl + 1);
        memcpy(t->bytes[id], buf, (size_t)bl);
        t->bytes[id][bl] = 0;
        t->len[id] = bl;
        if (id != t->eot) {
            size_t s = strmap_slot(&t->vocab, t->bytes[id], (size_t)bl);
            t->vocab.keys[s] = t->bytes[id];
            t->vocab.klen[s] = bl;
            t->vocab.vals[s] = id;
        }
    }
    cJSON_Delete(root);
    if (rc) return rc;
    for (int i = 0; i < count; i++)
        if (!t->bytes[i]) return err_set(err, "%s: id %d is missing (ids must be 0..%d)", path, i, count - 1);
    for (int b = 0; b < 256; b++) {
        char c = (char)b;
        t->byte_id[b] = strmap_get(&t->vocab, &c, 1);
        if (t->byte_id[b] < 0) return err_set(err, "%s: byte 0x%02x has no token", path, b);
    }
    return 0;
}

static int load_merges(Tokenizer *t, const char *path, const int *byte_of_cp, Err *err) {
    char *text;
    size_t n;
    if (read_file(path, &text, &n, err)) return -1;
    size_t cap = 1;
    while (cap < 2 * (size_t)t->n_vocab + 2) cap <<= 1;
    t->merges.cap = cap;
    t->merges.keys = xcalloc(cap, sizeof(uint64_t));
    t->merges.rank = xcalloc(cap, sizeof(int));
    t->merge_id = xcalloc((size_t)t->n_vocab + 1, sizeof(int));
    int rc = 0, line_no = 0;
    char *p = text, *end = text + n;
    while (p < end && rc == 0) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *le = nl ? nl : end;
        line_no++;
        size_t ll = (size_t)(le - p);
        if (ll > 0 && p[ll - 1] == '\r') ll--;
        if (!(line_no == 1 && ll >= 8 && memcmp(p, "#version", 8) == 0) && ll > 0) {
            char *sp = memchr(p, ' ', ll);
            char a[MAX_TOKEN_BYTES], b[MAX_TOKEN_BYTES];
            int al, bl;
            if (!sp || unicode_to_bytes(byte_of_cp, p, (size_t)(sp - p), a, &al) ||
                unicode_to_bytes(byte_of_cp, sp + 1, ll - (size_t)(sp - p) - 1, b, &bl) || al + bl > MAX_TOKEN_BYTES) {
                rc = err_set(err, "%s:%d: expected two tokens separated by one space", path, line_no);
                break;
            }
            int ia = strmap_get(&t->vocab, a, (size_t)al), ib = strmap_get(&t->vocab, b, (size_t)bl);
            memcpy(a + al, b, (size_t)bl);
            int im = strmap_get(&t->vocab, a, (size_t)(al + bl));
            if (ia < 0 || ib < 0 || im < 0) {
                rc = err_set(err, "%s:%d: merge uses a token that is not in the vocabulary", path, line_no);
                break;
            }
            if (t->n_merges >= t->n_vocab) {
                rc = err_set(err, "%s: more merges than vocabulary entries (%d)", path, t->n_vocab);
                break;
            }
            uint64_t k = pair_key(ia, ib);
            size_t s = pair_slot(&t->merges, k);
            if (!t->merges.keys[s]) { /* the first (lowest-rank) occurrence wins */
                t->merges.keys[s] = k;
                t->merges.rank[s] = t->n_merges;
            }
            t->merge_id[t->n_merges++] = im;
        }
        p = nl ? nl + 1 : end;
    }
    free(text);
    return rc;
}

static void cache_init(WordCache *c) {
    memset(c, 0, sizeof *c);
    strmap_init(&c->map, 1 << 18);
}

static void cache_free(WordCache *c) {
    strmap_free(&c->map);
    free(c->ids);
    while (c->keys) {
        KeyBlock *next = c->keys->next;
        free(c->keys);
        c->keys = next;
    }
}

Tokenizer *tok_load(const char *dir, Err *err) {
    char *vocab = path_join(dir, "encoder.json"), *merges = path_join(dir, "vocab.bpe");
    if (!path_is_file(vocab) || !path_is_file(merges)) {
        free(vocab);
        free(merges);
        vocab = path_join(dir, "vocab.json");
        merges = path_join(dir, "merges.txt");
    }
    if (!path_is_file(vocab) || !path_is_file(merges)) {
        err_set(err, "%s: no tokenizer files (expected encoder.json + vocab.bpe, or vocab.json + merges.txt)", dir);
        free(vocab);
        free(merges);
        return NULL;
    }
    int cp_of_byte[256], byte_of_cp[512];
    byte_unicode_table(cp_of_byte);
    for (int i = 0; i < 512; i++) byte_of_cp[i] = -1;
    for (int b = 0; b < 256; b++) byte_of_cp[cp_of_byte[b]] = b;

    Tokenizer *t = xcalloc(1, sizeof *t);
    t->eot = -1;
    int rc = load_vocab(t, vocab, byte_of_cp, err);
    if (rc == 0) rc = load_merges(t, merges, byte_of_cp, err);
    if (rc == 0 && t->eot < 0) rc = err_set(err, "%s: no <|endoftext|> token", vocab);
    free(vocab);
    free(merges);
    if (rc == 0) {
        int code;
        PCRE2_SIZE off;
        t->re = pcre2_compile((PCRE2_SPTR)PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
        if (!t->re) {
            rc = err_set(err, "tokenizer: PCRE2 cannot compile the pre-tokenizer pattern (error %d)", code);
        } else {
            pcre2_jit_compile(t->re, PCRE2_JIT_COMPLETE); /* falls back to the interpreter if JIT is absent */
            t->md = pcre2_match_data_create_from_pattern(t->re, NULL);
        }
    }
    cache_init(&t->cache);
    if (rc) {
        tok_free(t);
        return NULL;
    }
    return t;
}

Tokenizer *tok_load_for_model(const char *model_dir, Err *err) {
    char *a = path_join(model_dir, "encoder.json"), *b = path_join(model_dir, "vocab.json");
    int has = path_is_file(a) || path_is_file(b);
    free(a);
    free(b);
    if (has) return tok_load(model_dir, err);
    char *root = models_root();
    Tokenizer *t = NULL;
    if (root) {
        char *dir = path_join(root, "tokenizer");
        t = tok_load(dir, err);
        free(dir);
        free(root);
    } else {
        err_set(err, "%s: no tokenizer files, and no shipped models/tokenizer found", model_dir);
    }
    return t;
}

void tok_free(Tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_vocab; i++) free(t->bytes[i]);
    free(t->bytes);
    free(t->len);
    strmap_free(&t->vocab);
    free(t->merges.keys);
    free(t->merges.rank);
    free(t->merge_id);
    if (t->md) pcre2_match_data_free(t->md);
    if (t->re) pcre2_code_free(t->re);
    cache_free(&t->cache);
    free(t);
}

int tok_vocab_size(const Tokenizer *t) { return t->n_vocab; }
int tok_eot(const Tokenizer *t) { return t->eot; }

const char *tok_bytes(const Tokenizer *t, int id, int *len) {
    if (id < 0 || id >= t->n_vocab) {
        *len = 0;
        return "";
    }
    *len = t->len[id];
    return t->bytes[id];
}

int tok_id_of_piece(const Tokenizer *t, const char *piece) {
    size_t n = strlen(piece);
    for (int id = 0; id < t->n_vocab; id++)
        if ((size_t)t->len[id] == n && memcmp(t->bytes[id], piece, n) == 0) return id;
    return -1;
}

/* BPE on one pre-token: start from single bytes, repeatedly merge every occurrence of the lowest-ranked
 * adjacent pair (left to right, non-overlapping) until no adjacent pair is a merge. This plain version
 * is quadratic in the word's length; it is the reference for bpe_word below. */
static int bpe_word_plain(const Tokenizer *t, const unsigned char *s, int n, int *out) {
    for (int i = 0; i < n; i++) out[i] = t->byte_id[s[i]];
    for (;;) {
        int best = -1;
        for (int i = 0; i + 1 < n; i++) {
            size_t slot = pair_slot(&t->merges, pair_key(out[i], out[i + 1]));
            if (t->merges.keys[slot] && (best < 0 || t->merges.rank[slot] < best)) best = t->merges.rank[slot];
        }
        if (best < 0) break;
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i + 1 < n) {
                size_t slot = pair_slot(&t->merges, pair_key(out[i], out[i + 1]));
                if (t->merges.keys[slot] && t->merges.rank[slot] == best) {
                    out[k++] = t->merge_id[best];
                    i++;
                    continue;
                }
            }
            out[k++] = out[i];
        }
        n = k;
    }
    return n;
}

static int merge_rank(const Tokenizer *t, int a, int b) {
    size_t slot = pair_slot(&t->merges, pair_key(a, b));
    return t->merges.keys[slot] ? t->merges.rank[slot] : -1;
}

/* A candidate merge: the pair starting at node pos, as it was when pushed. */
typedef struct {
    int rank, pos, left, right;
} PairCand;

static int cand_before(const PairCand *a, const PairCand *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos; /* lowest rank, then leftmost */
}

static void heap_push(PairCand *h, int *n, PairCand c) {
    int i = (*n)++;
    while (i > 0 && cand_before(&c, &h[(i - 1) / 2])) h[i] = h[(i - 1) / 2], i = (i - 1) / 2;
    h[i] = c;
}

static PairCand heap_pop(PairCand *h, int *n) {
    PairCand top = h[0], last = h[--*n];
    int i = 0;
    for (;;) {
        int c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_before(&h[c + 1], &h[c])) c++;
        if (!cand_before(&h[c], &last)) break;
        h[i] = h[c], i = c;
    }
    h[i] = last;
    return top;
}

/* The same merges in O(n log n): the tokens form a linked list, and every adjacent pair that is a
 * merge waits in a heap ordered by rank, then position. Taking the lowest rank first and, among equal
 * ranks, the leftmost first merges exactly what the plain version's left-to-right passes merge (a
 * merge never makes a new pair of its own rank); entries made stale by an earlier merge are skipped. */
static int bpe_word(const Tokenizer *t, const unsigned char *s, int n, int *out) {
    if (n < 2) {
        for (int i = 0; i < n; i++) out[i] = t->byte_id[s[i]];
        return n;
    }
    int *id = xmalloc(sizeof(int) * (size_t)n * 3), *nx = id + n, *pv = nx + n;
    PairCand *h = xmalloc(sizeof(PairCand) * (size_t)(3 * n)); /* n - 1 pairs, then at most 2 a merge */
    int nh = 0;
    for (int i = 0; i < n; i++) id[i] = t->byte_id[s[i]], nx[i] = i + 1 < n ? i + 1 : -1, pv[i] = i - 1;
    for (int i = 0; i + 1 < n; i++) {
        int r = merge_rank(t, id[i], id[i + 1]);
        if (r >= 0) heap_push(h, &nh, (PairCand){r, i, id[i], id[i + 1]});
    }
    while (nh > 0) {
        PairCand c = heap_pop(h, &nh);
        int a = c.pos, b = nx[a];
        if (id[a] < 0 || b < 0 || id[a] != c.left || id[b] != c.right) continue; /* stale */
        id[a] = t->merge_id[c.rank]; /* b joins a */
        id[b] = -1;
        nx[a] = nx[b];
        if (nx[b] >= 0) pv[nx[b]] = a;
        if (pv[a] >= 0) {
            int r = merge_rank(t, id[pv[a]], id[a]);
            if (r >= 0) heap_push(h, &nh, (PairCand){r, pv[a], id[pv[a]], id[a]});
        }
        if (nx[a] >= 0) {
            int r = merge_rank(t, id[a], id[nx[a]]);
            if (r >= 0) heap_push(h, &nh, (PairCand){r, a, id[a], id[nx[a]]});
        }
    }
    int k = 0;
    for (int i = 0; i >= 0; i = nx[i]) out[k++] = id[i];
    free(id);
    free(h);
    return k;
}

int tok_bpe_plain(const Tokenizer *t, const unsigned char *s, int n, int *out) { return bpe_word_plain(t, s, n, out); }
int tok_bpe(const Tokenizer *t, const unsigned char *s, int n, int *out) { return bpe_word(t, s, n, out); }

/* Encodes one pre-token of at most 64 bytes through the cache. Returns its record [n, ids...]. */
static const int *encode_word(Tokenizer *t, const char *s, int n) {
    WordCache *c = &t->cache;
    int off = strmap_get(&c->map, s, (size_t)n);
    if (off >= 0) return c->ids + off;
    if (c->map.n * 2 >= c->map.cap) { /* full: start over rather than grow without bound */
        cache_free(c);
        cache_init(c);
    }
    if (!c->keys || c->keys->used + (size_t)n > sizeof c->keys->data) {
        KeyBlock *b = xmalloc(sizeof *b);
        b->next = c->keys;
        b->used = 0;
        c->keys = b;
    }
    if (c->n_ids + (size_t)n + 1 > c->cap_ids) {
        c->cap_ids = (c->n_ids + (size_t)n + 1) * 2;
        c->ids = xrealloc(c->ids, c->cap_ids * sizeof(int));
    }
    int *rec = c->ids + c->n_ids;
    rec[0] = bpe_word(t, (const unsigned char *)s, n, rec + 1);
    off = (int)c->n_ids;
    c->n_ids += (size_t)rec[0] + 1;
    char *k = c->keys->data + c->keys->used;
    memcpy(k, s, (size_t)n);
    c->keys->used += (size_t)n;
    size_t slot = strmap_slot(&c->map, k, (size_t)n);
    c->map.keys[slot] = k;
    c->map.klen[slot] = n;
    c->map.vals[slot] = off;
    c->map.n++;
    return rec;
}

typedef struct {
    int *ids;
    int n, cap;
} IdVec;

static void idvec_push(IdVec *v, int id) {
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 64;
        v->ids = xrealloc(v->ids, (size_t)v->cap * sizeof(int));
    }
    v->ids[v->n++] = id;
}

static void push_piece(Tokenizer *t, IdVec *v, const char *s, int n) {
    if (n <= 0) return;
    const int *rec = n <= 64 ? encode_word(t, s, n) : NULL;
    if (rec) {
        for (int i = 0; i < rec[0]; i++) idvec_push(v, rec[1 + i]);
        return;
    }
    int *tmp = xmalloc((size_t)n * sizeof(int)); /* long pieces: no caching */
    int k = bpe_word(t, (const unsigned char *)s, n, tmp);
    for (int i = 0; i < k; i++) idvec_push(v, tmp[i]);
    free(tmp);
}

/* Pre-tokenizes [s, s+n) with the GPT-2 pattern and appends the BPE of every piece. */
static void encode_chunk(Tokenizer *t, IdVec *v, const char *s, size_t n) {
    size_t pos = 0;
    while (pos < n) {
        int rc = pcre2_match(t->re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, t->md, NULL);
        if (rc < 0) { /* cannot happen: the pattern matches every character; keep the rest whole */
            push_piece(t, v, s + pos, (int)(n - pos));
            return;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(t->md);
        if (ov[0] > pos) push_piece(t, v, s + pos, (int)(ov[0] - pos));
        if (ov[1] == ov[0]) { /* empty match: step one character */
            int l = utf8_seq_len((const unsigned char *)s + ov[0], n - ov[0]);
            push_piece(t, v, s + ov[0], l ? l : 1);
            pos = ov[0] + (size_t)(l ? l : 1);
            continue;
        }
        push_piece(t, v, s + ov[0], (int)(ov[1] - ov[0]));
        pos = ov[1];
    }
}

int tok_encode(Tokenizer *t, const char *text, size_t len, int allow_special, int **ids, int *n, Err *err) {
    size_t bad;
    if (!utf8_valid(text, len, &bad)) return err_set(err, "text is not valid UTF-8 (byte %zu)", bad);
    IdVec v = {0};
    const size_t el = strlen(EOT_TEXT);
    size_t start = 0;
    while (start <= len) {
        size_t stop = len;
        if (allow_special)
            for (size_t i = start; i + el <= len; i++)
                if (text[i] == '<' && memcmp(text + i, EOT_TEXT, el) == 0) {
                    stop = i;
                    break;
                }
        encode_chunk(t, &v, text + start, stop - start);
        if (stop == len) break;
        idvec_push(&v, t->eot);
        start = stop + el;
    }
    *ids = v.ids ? v.ids : xmalloc(sizeof(int));
    *n = v.n;
    return 0;
}

/* Appends bytes to a growing string, replacing each invalid UTF-8 byte with U+FFFD. */
static int utf8_could_complete(const unsigned char *s, int n);

/* Copies src to dst, replacing each ill-formed part with U+FFFD: one for the longest start of a
 * character that is cut short, else one per byte (Unicode's "maximal subpart" rule, which Python's
 * errors="replace" and so the reference tokenizer's decode follow). */
static size_t append_replacing(char *dst, const unsigned char *src, size_t n) {
    size_t k = 0, i = 0;
    while (i < n) {
        int l = utf8_seq_len(src + i, n - i);
        if (l == 0) {
            memcpy(dst + k, "\xEF\xBF\xBD", 3);
            k += 3;
            int cut = 1; /* a valid start of a longer character, cut short, goes as a whole */
            for (int m = 3; m > 1; m--)
                if ((size_t)m <= n - i && utf8_could_complete(src + i, m)) {
                    cut = m;
                    break;
                }
            i += (size_t)cut;
        } else {
            memcpy(dst + k, src + i, (size_t)l);
            k += (size_t)l;
            i += (size_t)l;
        }
    }
    dst[k] = 0;
    return k;
}

char *tok_decode(const Tokenizer *t, const int *ids, int n) { return tok_decode_len(t, ids, n, NULL); }

char *tok_decode_len(const Tokenizer *t, const int *ids, int n, size_t *len) {
    size_t total = 0;
    for (int i = 0; i < n; i++) total += ids[i] >= 0 && ids[i] < t->n_vocab ? (size_t)t->len[ids[i]] : 0;
    unsigned char *raw = xmalloc(total + 1);
    size_t k = 0;
    for (int i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) continue;
        memcpy(raw + k, t->bytes[ids[i]], (size_t)t->len[ids[i]]);
        k += (size_t)t->len[ids[i]];
    }
    char *out = xmalloc(3 * k + 1);
    size_t m = append_replacing(out, raw, k);
    if (len) *len = m;
    free(raw);
    return out;
}

void tok_stream_init(TokStream *s) { memset(s, 0, sizeof *s); }

/* 1 if s[0..n) could still become a valid UTF-8 sequence when more bytes arrive. */
static int utf8_could_complete(const unsigned char *s, int n) {
    unsigned char buf[4];
    int need = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC0 ? 2 : 1;
    if (n >= need) return 0;
    /* Try completing with the smallest and largest continuation bytes. */
    for (int fill = 0x80; fill <= 0xBF; fill += 0x3F) {
        memcpy(buf, s, (size_t)n);
        for (int i = n; i < need; i++) buf[i] = (unsigned char)fill;
        if (utf8_seq_len(buf, (size_t)need)) return 1;
    }
    /* Ranges like E0 A0..BF need a middle value. */
    memcpy(buf, s, (size_t)n);
    for (int i = n; i < need; i++) buf[i] = 0x90;
    if (utf8_seq_len(buf, (size_t)need)) return 1;
    for (int i = n; i < need; i++) buf[i] = 0xA0;
    return utf8_seq_len(buf, (size_t)need) != 0;
}

const char *tok_stream_push(TokStream *s, const Tokenizer *t, int id) {
    int len;
    const char *b = tok_bytes(t, id, &len);
    unsigned char all[8 + MAX_TOKEN_BYTES];
    memcpy(all, s->pending, (size_t)s->n_pending);
    memcpy(all + s->n_pending, b, (size_t)len);
    int n = s->n_pending + len;
    /* Keep a trailing incomplete sequence (at most 3 bytes) that a later token may complete. */
    int keep = 0;
    for (int back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = all[n - back];
        if ((c & 0xC0) == 0x80) continue; /* continuation byte: look further back */
        if (c >= 0xC0 && utf8_could_complete(all + n - back, back)) keep = back;
        break;
    }
    size_t k = append_replacing(s->out, all, (size_t)(n - keep));
    s->out[k] = 0;
    s->len = k;
    memcpy(s->pending, all + n - keep, (size_t)keep);
    s->n_pending = keep;
    return s->out;
}

const char *tok_stream_flush(TokStream *s) {
    s->len = append_replacing(s->out, s->pending, (size_t)s->n_pending); /* a cut-short character: one U+FFFD */
    s->n_pending = 0;
    return s->out;
}

void tok_show_bytes(const char *bytes, int len, TokShow how, char *out, size_t cap) {
    size_t k = 0;
    const unsigned char *u = (const unsigned char *)bytes;
    const int screen = how == TOK_SHOW_SCREEN;
    for (int i = 0; i < len && k + 8 < cap;) {
        unsigned char c = u[i];
        int l = utf8_seq_len(u + i, (size_t)(len - i));
        const char *sub = NULL;
        if (c == ' ' && screen) sub = "\xE2\x90\xA3";        /* open box */
        else if (c == '\n') sub = screen ? "\xE2\x86\xB5" : "\\n"; /* return arrow */
        else if (c == '\t') sub = screen ? "\xE2\x87\xA5" : "\\t"; /* tab arrow */
        else if (c == '\r' && !screen) sub = "\\r";
        else if (c == '\\' && !screen) sub = "\\\\";
        if (sub) {
            size_t n = strlen(sub);
            memcpy(out + k, sub, n);
            k += n;
            i++;
        } else if (c < 0x20 || c == 0x7F || l == 0) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
            i++;
        } else if (k + (size_t)l + 1 < cap) {
            memcpy(out + k, u + i, (size_t)l); /* a whole UTF-8 character */
            k += (size_t)l;
            i += l;
        } else {
            break;
        }
    }
    out[k < cap ? k : cap - 1] = 0;
    if (k == 0 && screen) snprintf(out, cap, "\xE2\x88\x85"); /* empty set */
}

void tok_show(const Tokenizer *t, int id, TokShow how, char *out, size_t cap) {
    int len;
    const char *b = tok_bytes(t, id, &len);
    tok_show_bytes(b, len, how, out, cap);
}
