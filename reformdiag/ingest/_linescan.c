/* Stage one's line pass in one compiled loop (optional: reformdiag/ingest/lines.py falls back
 * to numpy, with the same answers, when this module was not built).
 *
 * Built as the top-level module _reformdiag_linescan, not inside the package: tests run from a
 * checkout import the package's Python code from the checkout, where a module built into the
 * installed package would not be found. ABI is bumped whenever scan_lines changes, so that a
 * stale build is ignored rather than called the wrong way.
 *
 * scan_lines(buf, shapes, max_lines, indented, seen_record, long_line)
 *   -> (used, lines, long_lines, rec_offsets, rec_lines, orphan_offsets, orphan_ends,
 *       orphan_lines, orphan_reasons)
 *
 * Every line of buf (the bytes up to and including a newline; a last line without one counts
 * too) is a record start (it begins with one of the shapes), a continuation line, or an orphan:
 *   - with `indented`, a line that starts no record continues one only if it is blank or
 *     starts with a tab or a space; otherwise any line that starts no record continues one;
 *   - before the first record of the file (`seen_record` false and no record start yet in
 *     buf), a continuation line has nothing to continue: an orphan, unless it is blank.
 * Returned: the bytes the lines cover (`used`), how many lines, how many are longer than
 * `long_line` bytes (newline excluded); for each record start its byte offset and line
 * index; for each orphan its offset, end, line index and reason (1: no record prefix,
 * 2: a continuation line before the first record). Arrays are bytes of native int64 (uint8
 * for the reasons). The pass stops after max_lines lines (the caller goes on from there), so
 * that a chunk of tiny lines cannot need arrays many times its own size.
 *
 * A shape is the spec's byte pattern: '#' a digit, '?' any byte, anything else itself. As in
 * shapes.py, a line (its newline included) shorter than the shape never matches, and a shape
 * may cover the line's own newline byte. numpy needs a full pass per step (newlines, then a
 * gather per shape word); here one pass finds the newlines 16 bytes at a time and checks the
 * shapes on 8-byte words of each line start while it is in the cache.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define MAX_WORDS 8 /* shapes up to 64 bytes go word by word, longer ones byte by byte */
#define MAX_SHAPES 16

typedef struct {
    const unsigned char *pattern;
    Py_ssize_t width;
    int words; /* 0: compare byte by byte */
    uint64_t mask[MAX_WORDS], value[MAX_WORDS], low[MAX_WORDS], add[MAX_WORDS],
        carry[MAX_WORDS];
} Shape;

static uint64_t load64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v; /* byte i of the line is bits 8i..8i+7 */
}

static void compile_shape(Shape *s, const unsigned char *pattern, Py_ssize_t width) {
    memset(s, 0, sizeof(*s));
    s->pattern = pattern;
    s->width = width;
    if (width > 8 * MAX_WORDS)
        return;
    s->words = width ? (int)((width + 7) / 8) : 1;
    for (Py_ssize_t i = 0; i < width; i++) {
        int word = (int)(i / 8), shift = (int)(i % 8) * 8;
        unsigned char b = pattern[i];
        if (b == '#') { /* high nibble 3, low nibble <= 9: +6 must not carry into bit 4 */
            s->mask[word] |= (uint64_t)0xF0 << shift;
            s->value[word] |= (uint64_t)0x30 << shift;
            s->low[word] |= (uint64_t)0x0F << shift;
            s->add[word] |= (uint64_t)0x06 << shift;
            s->carry[word] |= (uint64_t)0x10 << shift;
        } else if (b != '?') {
            s->mask[word] |= (uint64_t)0xFF << shift;
            s->value[word] |= (uint64_t)b << shift;
        }
    }
}

static int match_bytes(const Shape *s, const unsigned char *p) {
    for (Py_ssize_t i = 0; i < s->width; i++) {
        unsigned char want = s->pattern[i];
        if (want == '#') {
            if (p[i] < '0' || p[i] > '9')
                return 0;
        } else if (want != '?' && p[i] != want) {
            return 0;
        }
    }
    return 1;
}

/* Does the line at p (len bytes, its newline included; room bytes readable from p) start
 * with the shape? */
static int match_shape(const Shape *s, const unsigned char *p, Py_ssize_t len, Py_ssize_t room) {
    if (len < s->width)
        return 0;
    if (!s->words || room < 8 * s->words)
        return match_bytes(s, p);
    for (int j = 0; j < s->words; j++) {
        uint64_t got = load64(p + 8 * j);
        if ((got & s->mask[j]) != s->value[j])
            return 0;
        if (s->carry[j] && (((got & s->low[j]) + s->add[j]) & s->carry[j]))
            return 0;
    }
    return 1;
}

/* A growable array of fixed-size items. */
typedef struct {
    char *data;
    Py_ssize_t n, cap, item;
} Array;

static int push(Array *a, const void *value) {
    if (a->n == a->cap) {
        Py_ssize_t cap = a->cap ? a->cap * 2 : 256;
        char *data = realloc(a->data, (size_t)(cap * a->item));
        if (!data)
            return -1;
        a->data = data;
        a->cap = cap;
    }
    memcpy(a->data + a->n * a->item, value, (size_t)a->item);
    a->n++;
    return 0;
}

static PyObject *as_bytes(const Array *a) {
    return PyBytes_FromStringAndSize(a->data ? a->data : "", a->n * a->item);
}

typedef struct {
    const unsigned char *buf;
    Py_ssize_t size;
    const Shape *shapes;
    int n_shapes, indented, seen_record;
    Py_ssize_t long_line, max_lines;
    Py_ssize_t lines, long_lines;
    Array rec_off, rec_line, orph_off, orph_end, orph_line, orph_reason;
} Pass;

static int add_line(Pass *ps, Py_ssize_t start, Py_ssize_t end) {
    const unsigned char *p = ps->buf + start;
    Py_ssize_t len = end - start;
    Py_ssize_t content = len - (p[len - 1] == '\n');
    int64_t line = ps->lines++, off = start, stop = end;
    if (content > ps->long_line)
        ps->long_lines++;
    for (int i = 0; i < ps->n_shapes; i++) {
        if (match_shape(&ps->shapes[i], p, len, ps->size - start)) {
            ps->seen_record = 1;
            if (push(&ps->rec_off, &off) < 0 || push(&ps->rec_line, &line) < 0)
                return -1;
            return 0;
        }
    }
    int blank = content == 0;
    int cont = !ps->indented || blank || p[0] == '\t' || p[0] == ' ';
    unsigned char reason = 0;
    if (!cont)
        reason = 1;
    else if (!ps->seen_record && !blank)
        reason = 2;
    if (reason && (push(&ps->orph_off, &off) < 0 || push(&ps->orph_end, &stop) < 0 ||
                   push(&ps->orph_line, &line) < 0 || push(&ps->orph_reason, &reason) < 0))
        return -1;
    return 0;
}

/* Returns the bytes covered by the lines found (all of buf unless max_lines stopped the
 * pass), or -1 when out of memory. */
static Py_ssize_t scan(Pass *ps) {
    const unsigned char *buf = ps->buf;
    Py_ssize_t size = ps->size, start = 0, i = 0;
#if defined(__SSE2__)
    const __m128i newline = _mm_set1_epi8('\n');
    for (; i + 16 <= size; i += 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)(buf + i));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, newline));
        while (bits) {
            Py_ssize_t nl = i + __builtin_ctz(bits);
            if (add_line(ps, start, nl + 1) < 0)
                return -1;
            start = nl + 1;
            if (ps->lines == ps->max_lines)
                return start;
            bits &= bits - 1;
        }
    }
#endif
    for (; i < size; i++) {
        if (buf[i] == '\n') {
            if (add_line(ps, start, i + 1) < 0)
                return -1;
            start = i + 1;
            if (ps->lines == ps->max_lines)
                return start;
        }
    }
    if (start < size && add_line(ps, start, size) < 0)
        return -1;
    return size;
}

static PyObject *scan_lines(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    PyObject *shape_seq;
    Py_ssize_t max_lines, long_line;
    int indented, seen_record;
    if (!PyArg_ParseTuple(args, "y*Onppn", &view, &shape_seq, &max_lines, &indented,
                          &seen_record, &long_line))
        return NULL;
    PyObject *result = NULL, *fast = PySequence_Fast(shape_seq, "shapes must be a sequence");
    Shape shapes[MAX_SHAPES];
    Pass ps;
    memset(&ps, 0, sizeof(ps));
    ps.rec_off.item = ps.rec_line.item = ps.orph_off.item = sizeof(int64_t);
    ps.orph_end.item = ps.orph_line.item = sizeof(int64_t);
    ps.orph_reason.item = 1;
    if (!fast)
        goto done;
    if (max_lines < 1) {
        PyErr_SetString(PyExc_ValueError, "max_lines must be at least 1");
        goto done;
    }
    Py_ssize_t n_shapes = PySequence_Fast_GET_SIZE(fast);
    if (n_shapes > MAX_SHAPES) {
        PyErr_SetString(PyExc_ValueError, "too many record-start shapes");
        goto done;
    }
    for (Py_ssize_t i = 0; i < n_shapes; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(fast, i); /* kept alive by the tuple */
        if (!PyBytes_Check(item)) {
            PyErr_SetString(PyExc_TypeError, "a shape must be bytes");
            goto done;
        }
        compile_shape(&shapes[i], (const unsigned char *)PyBytes_AS_STRING(item),
                      PyBytes_GET_SIZE(item));
    }
    ps.buf = (const unsigned char *)view.buf;
    ps.size = view.len;
    ps.shapes = shapes;
    ps.n_shapes = (int)n_shapes;
    ps.indented = indented;
    ps.seen_record = seen_record;
    ps.long_line = long_line;
    ps.max_lines = max_lines;
    Py_ssize_t used;
    Py_BEGIN_ALLOW_THREADS
    used = scan(&ps);
    Py_END_ALLOW_THREADS
    if (used < 0) {
        PyErr_NoMemory();
        goto done;
    }
    Array *arrays[] = {&ps.rec_off, &ps.rec_line, &ps.orph_off, &ps.orph_end, &ps.orph_line,
                       &ps.orph_reason};
    PyObject *out[6] = {NULL};
    int ok = 1;
    for (int i = 0; i < 6; i++)
        ok = ok && (out[i] = as_bytes(arrays[i])) != NULL;
    if (ok)
        result = Py_BuildValue("(nnnOOOOOO)", used, ps.lines, ps.long_lines, out[0], out[1],
                               out[2], out[3], out[4], out[5]);
    for (int i = 0; i < 6; i++)
        Py_XDECREF(out[i]);
done:
    free(ps.rec_off.data);
    free(ps.rec_line.data);
    free(ps.orph_off.data);
    free(ps.orph_end.data);
    free(ps.orph_line.data);
    free(ps.orph_reason.data);
    Py_XDECREF(fast);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_lines", scan_lines, METH_VARARGS,
     "scan_lines(buf, shapes, max_lines, indented, seen_record, long_line) -> (used, lines, "
     "long_lines, rec_offsets, rec_lines, orphan_offsets, orphan_ends, orphan_lines, "
     "orphan_reasons): see the head of _linescan.c."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_reformdiag_linescan", "reformdiag: stage one's line pass, compiled.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__reformdiag_linescan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "ABI", 2) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
