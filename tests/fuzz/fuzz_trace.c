/* fuzz_trace.c - any bytes as a trace file: trace_load reads it or refuses with one line naming the
 * file, without allocating what the file merely declares; a trace it accepts can be read everywhere. */
#include "fuzz.h"
#include "trace.h"

/* Reads every float of tensor id at pos, as dump and the viewer do: a shape that overstates the data
 * shows up under AddressSanitizer. */
static void read_all(const Trace *tr, int id, int pos) {
    int64_t shape[2];
    int nd = trace_shape(tr, id, pos, shape);
    const float *x = trace_get(tr, id, pos);
    if (x && nd >= 1) {
        volatile float s = 0;
        int64_t k = nd == 1 ? shape[0] : shape[0] * shape[1];
        for (int64_t i = 0; i < k; i++) s += x[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const char *p = fuzz_file("x.trace", data, n);
    Trace tr;
    Err err;
    if (trace_load(&tr, p, &err) == 0) {
        for (int pos = 0; pos < tr.n_pos; pos++)
            for (int id = 0; id < tr.n_ids; id++) {
                read_all(&tr, id, pos);
            }
        trace_free(&tr);
    } else if (strchr(err.msg, '\n') || !strstr(err.msg, p)) {
        abort(); /* one line naming the file */
    }
    /* the index alone, then one tensor at one position (what 'gptstep dump NAME' reads) */
    if (trace_load_part(&tr, p, -1, 0, &err) == 0) {
        int id = n ? data[n - 1] % (tr.n_ids ? tr.n_ids : 1) : 0, pos = tr.n_pos ? (n > 1 ? data[n - 2] : 0) % tr.n_pos : 0;
        for (int q = 0; q < tr.n_pos; q++)
            for (int i = 0; i < tr.n_ids; i++)
                if (trace_get(&tr, i, q)) abort(); /* no floats in an index */
        trace_free(&tr);
        if (trace_load_part(&tr, p, id, pos, &err) == 0) {
            read_all(&tr, id, pos);
            trace_free(&tr);
        }
    }
    return 0;
}
