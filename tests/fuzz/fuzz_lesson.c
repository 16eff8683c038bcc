/* fuzz_lesson.c - any bytes as a lesson script: it parses, or fails with one file:line:column line. */
#include "fuzz.h"
#include "lesson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
    const char *p = fuzz_file("x.lesson", data, n);
    Lesson l;
    Err err;
    if (lesson_load(&l, p, &err) == 0) {
        if (l.n_steps < 1) abort();
        lesson_free(&l);
    } else if (strchr(err.msg, '\n') || strncmp(err.msg, p, strlen(p)) != 0) {
        abort(); /* one line that starts with the file's name */
    }
    return 0;
}
