/* Stage one's line pass in one compiled loop (optional: reformdiag/ingest/lines.py falls back
 * to numpy, with the same answers, when this module was not built).
 *
 * Built as the top-level module _reformdiag_linescan, not inside the package: tests run from a
 * checkout import the package's Python code from the checkout, where a module built into the
 * installed package would not be found. ABI is bumped whenever scan_lines changes, so that a
 * stale build is ignored rather than called the wrong way.
 *
 * scan_lines(buf, shapes, max_lines) -> (starts, kinds, used)
 *   starts: int64 offset of every line start of buf (native byte order, as numpy reads it);
 *   kinds:  uint8 per line: 1 the line starts with one of the record-start shapes,
 *           2 it does not but is blank or starts with a tab or a space, 0 anything else;
 *   used:   the bytes those lines cover. The pass stops after max_lines lines (the caller
 *           goes on from there), so that a chunk of tiny lines cannot need arrays many
 *           times its own size.
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

typedef struct {
    int64_t *starts;
    unsigned char *kinds;
    Py_ssize_t n, cap, max;
} Lines;

static int grow(Lines *out) {
    Py_ssize_t cap = out->cap ? out->cap * 2 : 1024;
    int64_t *starts = realloc(out->starts, (size_t)cap * sizeof(int64_t));
    if (!starts)
        return -1;
    out->starts = starts;
    unsigned char *kinds = realloc(out->kinds, (size_t)cap);
    if (!kinds)
        return -1;
    out->kinds = kinds;
    out->cap = cap;
    return 0;
}

static int add_line(Lines *out, const unsigned char *buf, Py_ssize_t size, Py_ssize_t start,
                    Py_ssize_t end, const Shape *shapes, int n_shapes) {
    if (out->n == out->cap && grow(out) < 0)
        return -1;
    const unsigned char *p = buf + start;
    Py_ssize_t len = end - start;
    unsigned char kind = 0;
    for (int i = 0; i < n_shapes; i++) {
        if (match_shape(&shapes[i], p, len, size - start)) {
            kind = 1;
            break;
        }
    }
    if (!kind) {
        Py_ssize_t content = len - (p[len - 1] == '\n');
        if (content == 0 || p[0] == '\t' || p[0] == ' ')
            kind = 2;
    }
    out->starts[out->n] = start;
    out->kinds[out->n] = kind;
    out->n++;
    return 0;
}

/* Returns the bytes covered by the lines found (all of buf unless out->max stopped it), or -1
 * when out of memory. */
static Py_ssize_t scan(Lines *out, const unsigned char *buf, Py_ssize_t size,
                       const Shape *shapes, int n_shapes) {
    Py_ssize_t start = 0, i = 0;
#if defined(__SSE2__)
    const __m128i newline = _mm_set1_epi8('\n');
    for (; i + 16 <= size; i += 16) {
        __m128i block = _mm_loadu_si128((const __m128i *)(buf + i));
        unsigned bits = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(block, newline));
        while (bits) {
            Py_ssize_t nl = i + __builtin_ctz(bits);
            if (add_line(out, buf, size, start, nl + 1, shapes, n_shapes) < 0)
                return -1;
            start = nl + 1;
            if (out->n == out->max)
                return start;
            bits &= bits - 1;
        }
    }
#endif
    for (; i < size; i++) {
        if (buf[i] == '\n') {
            if (add_line(out, buf, size, start, i + 1, shapes, n_shapes) < 0)
                return -1;
            start = i + 1;
            if (out->n == out->max)
                return start;
        }
    }
    if (start < size && add_line(out, buf, size, start, size, shapes, n_shapes) < 0)
        return -1;
    return size;
}

static PyObject *scan_lines(PyObject *self, PyObject *args) {
    Py_buffer view;
    PyObject *shape_seq;
    Py_ssize_t max_lines;
    if (!PyArg_ParseTuple(args, "y*On", &view, &shape_seq, &max_lines))
        return NULL;
    PyObject *result = NULL, *fast = PySequence_Fast(shape_seq, "shapes must be a sequence");
    Lines out = {NULL, NULL, 0, 0, max_lines};
    Shape shapes[MAX_SHAPES];
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
    Py_ssize_t used;
    Py_BEGIN_ALLOW_THREADS
    used = scan(&out, (const unsigned char *)view.buf, view.len, shapes, (int)n_shapes);
    Py_END_ALLOW_THREADS
    if (used < 0) {
        PyErr_NoMemory();
        goto done;
    }
    PyObject *starts = PyBytes_FromStringAndSize((const char *)out.starts,
                                                 out.n * (Py_ssize_t)sizeof(int64_t));
    PyObject *kinds = PyBytes_FromStringAndSize((const char *)out.kinds, out.n);
    if (starts && kinds)
        result = Py_BuildValue("(OOn)", starts, kinds, used);
    Py_XDECREF(starts);
    Py_XDECREF(kinds);
done:
    free(out.starts);
    free(out.kinds);
    Py_XDECREF(fast);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"scan_lines", scan_lines, METH_VARARGS,
     "scan_lines(buf, shapes, max_lines) -> (starts, kinds, used): int64 line starts and "
     "uint8 line kinds (1 record start, 2 blank or indented, 0 other) of at most max_lines "
     "lines of buf, and the bytes they cover."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_reformdiag_linescan", "reformdiag: stage one's line pass, compiled.",
    -1, methods,
};

PyMODINIT_FUNC PyInit__reformdiag_linescan(void) {
    PyObject *m = PyModule_Create(&module);
    if (m && PyModule_AddIntConstant(m, "ABI", 1) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
