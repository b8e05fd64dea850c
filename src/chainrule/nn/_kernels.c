/*
 * chainrule.nn._kernels: conv2d's three contractions, max-pooling's two passes and the Adam update on
 * float32/float64 buffers, in C.
 *
 * conv2d, sample by sample:
 * Each sample's windows (im2col columns, (C/G)*kh*kw rows of OH*OW) are gathered into one buffer
 * that stays in cache, multiplied by BLAS's gemm (SciPy's, reached through the function pointers
 * that chainrule.nn.native hands over with set_blas), and, for the input gradient, added back
 * into the input positions they were read from. A call works on the samples [start, stop) and runs
 * without the GIL, so two Python threads can each take half of a batch.
 *
 * max_pool2d: each window's maximum (NaN if the window holds one, as numpy.maximum), and its
 * adjoint, which gives each window's gradient in equal shares to the entries equal to the maximum
 * (padding entries, -inf, count as entries and drop their share), as pool_primitive's NumPy
 * kernels do.
 *
 * Adam: one pass over parameter, gradient and moments with the operations of optim._adam_kernel,
 * in its order and dtype, so the same bits as its NumPy passes.
 *
 * The Python side (native.py) checks every argument: C-contiguous, aligned buffers of one dtype,
 * gradients of the output's shape, sizes that fit BLAS's 32-bit integers. The entry points check
 * again what memory safety rests on (a consistent geometry, every buffer long enough for it) and
 * raise ValueError otherwise; past that, the only failures are a missing BLAS pointer and memory.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Built with -ffp-contract=off and -fno-math-errno (pyproject.toml's ext-modules): no fused
 * multiply-adds, so that the Adam update rounds each operation as NumPy's separate passes do, and
 * no errno from sqrt (the moments are never negative), so that its loop vectorizes. */

typedef void (*dgemm_t)(char *, char *, int *, int *, int *, double *, double *, int *, double *,
                        int *, double *, double *, int *);
typedef void (*sgemm_t)(char *, char *, int *, int *, int *, float *, float *, int *, float *,
                        int *, float *, float *, int *);

static dgemm_t dgemm_ptr = NULL;
static sgemm_t sgemm_ptr = NULL;

/* OpenBLAS multiplies on the calling thread when m*n*k is at most this; larger products wake its
 * worker threads, which would compete with the two halves of a batch. */
static long single_thread_mnk = 1L << 18;

typedef struct {
    Py_ssize_t n, c, h, w;      /* input (N, C, H, W) */
    Py_ssize_t o, g;            /* output channels, groups */
    Py_ssize_t kh, kw, sh, sw, ph, pw, dh, dw;
    Py_ssize_t oh, ow;          /* output size */
    Py_ssize_t start, stop;     /* samples of this call */
    const Py_ssize_t *gs;       /* the output gradient's strides in bytes, or NULL if contiguous */
} geom;

static Py_ssize_t prod4(Py_ssize_t a, Py_ssize_t b, Py_ssize_t c, Py_ssize_t d);
static int holds(const Py_buffer *v, Py_ssize_t count, Py_ssize_t it, const char *what);

/* gemm in column-major terms on either dtype: C(m×n) = alpha·op(A)·op(B) + beta·C */
static void gemm(int dbl, char ta, char tb, long m, long n, long k, const void *a, long lda,
                 const void *b, long ldb, double beta, void *c, long ldc) {
    if (m <= 0 || n <= 0) return; /* C is empty */
    /* BLAS wants every leading dimension >= 1 (k = 0, no input channels, gives ldb = 0) */
    int im = (int)m, in = (int)n, ik = (int)k, ilda = (int)(lda > 1 ? lda : 1),
        ildb = (int)(ldb > 1 ? ldb : 1), ildc = (int)(ldc > 1 ? ldc : 1);
    if (dbl) {
        double one = 1.0, bt = beta;
        dgemm_ptr(&ta, &tb, &im, &in, &ik, &one, (double *)a, &ilda, (double *)b, &ildb, &bt,
                  (double *)c, &ildc);
    } else {
        float one = 1.0f, bt = (float)beta;
        sgemm_ptr(&ta, &tb, &im, &in, &ik, &one, (float *)a, &ilda, (float *)b, &ildb, &bt,
                  (float *)c, &ildc);
    }
}

/* Columns per block of a product with `rows_times_k` = (other two sizes' product), so that each
 * block stays under single_thread_mnk (a multiple of 16 columns). Where even 16 columns would
 * exceed it (wide layers), the product is one call, and BLAS's own threads take it whole. */
static long block_cols(long total, long rows_times_k) {
    long b = single_thread_mnk / (rows_times_k > 0 ? rows_times_k : 1);
    if (b >= 16) b -= b % 16;
    if (b < 16) return total; /* a 16-column block would exceed it anyway: one product */
    return b < total ? b : total;
}

#define IM2COL(T)                                                                              \
    static void im2col_##T(const T *x, T *col, const geom *q, Py_ssize_t channels) {           \
        Py_ssize_t ohw = q->oh * q->ow;                                                        \
        for (Py_ssize_t ch = 0; ch < channels; ch++) {                                         \
            const T *xc = x + ch * q->h * q->w;                                                \
            for (Py_ssize_t a = 0; a < q->kh; a++) {                                           \
                for (Py_ssize_t b = 0; b < q->kw; b++) {                                       \
                    T *out = col + ((ch * q->kh + a) * q->kw + b) * ohw;                       \
                    for (Py_ssize_t i = 0; i < q->oh; i++) {                                   \
                        Py_ssize_t r = i * q->sh - q->ph + a * q->dh;                          \
                        T *row = out + i * q->ow;                                              \
                        if (r < 0 || r >= q->h) {                                              \
                            memset(row, 0, sizeof(T) * q->ow);                                 \
                            continue;                                                          \
                        }                                                                      \
                        const T *xr = xc + r * q->w;                                           \
                        Py_ssize_t off = b * q->dw - q->pw;                                    \
                        if (q->sw == 1 && off >= 0 && off + q->ow <= q->w) {                   \
                            memcpy(row, xr + off, sizeof(T) * q->ow);                          \
                            continue;                                                          \
                        }                                                                      \
                        for (Py_ssize_t j = 0; j < q->ow; j++) {                               \
                            Py_ssize_t s = j * q->sw + off;                                    \
                            row[j] = (s >= 0 && s < q->w) ? xr[s] : (T)0;                      \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

#define COL2IM(T)                                                                              \
    static void col2im_##T(const T *col, T *dx, const geom *q, Py_ssize_t channels) {          \
        Py_ssize_t ohw = q->oh * q->ow;                                                        \
        memset(dx, 0, sizeof(T) * channels * q->h * q->w);                                     \
        for (Py_ssize_t ch = 0; ch < channels; ch++) {                                         \
            T *dc = dx + ch * q->h * q->w;                                                     \
            for (Py_ssize_t a = 0; a < q->kh; a++) {                                           \
                for (Py_ssize_t b = 0; b < q->kw; b++) {                                       \
                    const T *in = col + ((ch * q->kh + a) * q->kw + b) * ohw;                  \
                    Py_ssize_t off = b * q->dw - q->pw;                                        \
                    Py_ssize_t j0 = 0, j1 = q->ow;                                             \
                    /* the outputs whose column j*sw + off lies inside [0, w) */               \
                    while (j0 < j1 && j0 * q->sw + off < 0) j0++;                              \
                    while (j1 > j0 && (j1 - 1) * q->sw + off >= q->w) j1--;                    \
                    for (Py_ssize_t i = 0; i < q->oh; i++) {                                   \
                        Py_ssize_t r = i * q->sh - q->ph + a * q->dh;                          \
                        if (r < 0 || r >= q->h) continue;                                      \
                        T *dr = dc + r * q->w + off;                                           \
                        const T *ir = in + i * q->ow;                                          \
                        if (q->sw == 1) {                                                      \
                            for (Py_ssize_t j = j0; j < j1; j++) dr[j] += ir[j];               \
                        } else {                                                               \
                            for (Py_ssize_t j = j0; j < j1; j++) dr[j * q->sw] += ir[j];       \
                        }                                                                      \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

/* gy[n] (O, OH, OW) from a strided buffer (a broadcast gradient, say) into a contiguous one. */
#define GATHER_GY(T)                                                                           \
    static void gather_gy_##T(const char *gy, T *buf, const geom *q, Py_ssize_t n) {           \
        const Py_ssize_t *s = q->gs;                                                           \
        for (Py_ssize_t o = 0; o < q->o; o++)                                                  \
            for (Py_ssize_t i = 0; i < q->oh; i++) {                                           \
                const char *r = gy + n * s[0] + o * s[1] + i * s[2];                           \
                T *dst = buf + (o * q->oh + i) * q->ow;                                        \
                for (Py_ssize_t j = 0; j < q->ow; j++) dst[j] = *(const T *)(r + j * s[3]);    \
            }                                                                                  \
    }

IM2COL(double)
IM2COL(float)
GATHER_GY(double)
GATHER_GY(float)

/* Sample n of the output gradient as a contiguous (O, OH·OW) block: in place, or copied to buf. */
static const char *gy_sample(int dbl, const char *gy, char *buf, const geom *q, Py_ssize_t n) {
    if (q->gs == NULL) return gy + (size_t)n * q->o * q->oh * q->ow * (dbl ? 8 : 4);
    if (dbl) gather_gy_double(gy, (double *)buf, q, n);
    else gather_gy_float(gy, (float *)buf, q, n);
    return buf;
}
COL2IM(double)
COL2IM(float)

static void im2col(int dbl, const char *x, char *col, const geom *q, Py_ssize_t channels) {
    if (dbl) im2col_double((const double *)x, (double *)col, q, channels);
    else im2col_float((const float *)x, (float *)col, q, channels);
}

static void col2im(int dbl, const char *col, char *dx, const geom *q, Py_ssize_t channels) {
    if (dbl) col2im_double((const double *)col, (double *)dx, q, channels);
    else col2im_float((const float *)col, (float *)dx, q, channels);
}

/* y[n] = w · windows(x[n]) + b, per group. */
static void run_forward(int dbl, const char *x, const char *w, const char *b, char *y, char *col,
                        const geom *q) {
    size_t it = dbl ? 8 : 4;
    Py_ssize_t cg = q->c / q->g, og = q->o / q->g, kg = cg * q->kh * q->kw, ohw = q->oh * q->ow;
    long blk = block_cols(ohw, og * kg);
    for (Py_ssize_t n = q->start; n < q->stop; n++) {
        const char *xn = x + (size_t)n * q->c * q->h * q->w * it;
        char *yn = y + (size_t)n * q->o * ohw * it;
        im2col(dbl, xn, col, q, q->c);
        if (b != NULL) {
            for (Py_ssize_t oc = 0; oc < q->o; oc++) {
                if (dbl) {
                    double v = ((const double *)b)[oc], *r = (double *)yn + oc * ohw;
                    for (Py_ssize_t j = 0; j < ohw; j++) r[j] = v;
                } else {
                    float v = ((const float *)b)[oc], *r = (float *)yn + oc * ohw;
                    for (Py_ssize_t j = 0; j < ohw; j++) r[j] = v;
                }
            }
        }
        for (Py_ssize_t gi = 0; gi < q->g; gi++) {
            const char *wg = w + (size_t)gi * og * kg * it;
            const char *cgp = col + (size_t)gi * kg * ohw * it;
            char *ygp = yn + (size_t)gi * og * ohw * it;
            for (long j = 0; j < ohw; j += blk) {
                long m = ohw - j < blk ? ohw - j : blk;
                /* column-major: y^T (ohw × og) = col^T (ohw × kg) · w^T (kg × og) */
                gemm(dbl, 'N', 'N', m, og, kg, cgp + j * it, ohw, wg, kg, b != NULL ? 1.0 : 0.0,
                     ygp + j * it, ohw);
            }
        }
    }
}

/* dx[n] = fold(w^T · gy[n]), per group. */
static void run_grad_x(int dbl, const char *gy, const char *w, char *dx, char *col, char *gbuf,
                       const geom *q) {
    size_t it = dbl ? 8 : 4;
    Py_ssize_t cg = q->c / q->g, og = q->o / q->g, kg = cg * q->kh * q->kw, ohw = q->oh * q->ow;
    long blk = block_cols(ohw, og * kg);
    for (Py_ssize_t n = q->start; n < q->stop; n++) {
        const char *gn = gy_sample(dbl, gy, gbuf, q, n);
        for (Py_ssize_t gi = 0; gi < q->g; gi++) {
            const char *wg = w + (size_t)gi * og * kg * it;
            const char *ggp = gn + (size_t)gi * og * ohw * it;
            char *cgp = col + (size_t)gi * kg * ohw * it;
            for (long j = 0; j < ohw; j += blk) {
                long m = ohw - j < blk ? ohw - j : blk;
                /* column-major: col^T (ohw × kg) = gy^T (ohw × og) · w (og × kg) */
                gemm(dbl, 'N', 'T', m, kg, og, ggp + j * it, ohw, wg, kg, 0.0, cgp + j * it, ohw);
            }
        }
        col2im(dbl, col, dx + (size_t)n * q->c * q->h * q->w * it, q, q->c);
    }
}

/* acc += gy[n] · windows(x[n])^T, per group, over the samples. */
static void run_grad_w(int dbl, const char *gy, const char *x, char *acc, char *col, char *gbuf,
                       const geom *q) {
    size_t it = dbl ? 8 : 4;
    Py_ssize_t cg = q->c / q->g, og = q->o / q->g, kg = cg * q->kh * q->kw, ohw = q->oh * q->ow;
    long blk = block_cols(ohw, og * kg);
    for (Py_ssize_t n = q->start; n < q->stop; n++) {
        im2col(dbl, x + (size_t)n * q->c * q->h * q->w * it, col, q, q->c);
        const char *gn = gy_sample(dbl, gy, gbuf, q, n);
        for (Py_ssize_t gi = 0; gi < q->g; gi++) {
            const char *ggp = gn + (size_t)gi * og * ohw * it;
            const char *cgp = col + (size_t)gi * kg * ohw * it;
            char *agp = acc + (size_t)gi * og * kg * it;
            for (long j = 0; j < ohw; j += blk) {
                long k = ohw - j < blk ? ohw - j : blk;
                /* column-major: acc^T (kg × og) += col (kg × k) · gy^T (k × og) */
                gemm(dbl, 'T', 'N', kg, og, k, cgp + j * it, ohw, ggp + j * it, ohw, 1.0, agp, kg);
            }
        }
    }
}

static int parse_geom(PyObject *t, geom *q) {
    return PyArg_ParseTuple(t, "nnnnnnnnnnnnnnnnnn", &q->n, &q->c, &q->h, &q->w, &q->o, &q->g,
                            &q->kh, &q->kw, &q->sh, &q->sw, &q->ph, &q->pw, &q->dh, &q->dw, &q->oh,
                            &q->ow, &q->start, &q->stop);
}

enum { FORWARD, GRAD_X, GRAD_W };

/* kernel(kind, double, geometry, a, b, c_or_None, out): a, b, c read-only buffers, out written.
 * For the gradients, a (the output gradient) may have any strides; the others are C-contiguous. */
static PyObject *py_kernel(PyObject *self, PyObject *args) {
    int kind, dbl;
    PyObject *gt, *first, *third;
    Py_buffer a = {0}, b = {0}, out = {0}, c3 = {0};
    geom q;
    (void)self;
    if (!PyArg_ParseTuple(args, "ipOOy*Ow*", &kind, &dbl, &gt, &first, &b, &third, &out))
        return NULL;
    PyObject *result = NULL;
    char *col = NULL, *gbuf = NULL;
    int have_c = third != Py_None;
    if (!parse_geom(gt, &q)) goto done;
    if (PyObject_GetBuffer(first, &a, kind == FORWARD ? PyBUF_SIMPLE : PyBUF_STRIDED_RO) < 0)
        goto done;
    q.gs = NULL;
    if (kind != FORWARD) {
        if (a.ndim != 4 || a.strides == NULL) {
            PyErr_SetString(PyExc_ValueError, "_kernels: the output gradient must have 4 axes");
            goto done;
        }
        if (!PyBuffer_IsContiguous(&a, 'C')) q.gs = a.strides;
    }
    if (have_c && PyObject_GetBuffer(third, &c3, PyBUF_SIMPLE) < 0) goto done;
    {
        Py_ssize_t its = dbl ? 8 : 4;
        if (q.g < 1 || q.c < 0 || q.o < 0 || q.c % q.g || q.o % q.g || q.sh < 1 || q.sw < 1 ||
            q.dh < 1 || q.dw < 1 || q.ph < 0 || q.pw < 0 || q.kh < 1 || q.kw < 1 || q.oh < 1 ||
            q.ow < 1 || q.start < 0 || q.stop < q.start || q.stop > q.n) {
            PyErr_SetString(PyExc_ValueError, "_kernels: inconsistent conv2d geometry");
            goto done;
        }
        Py_ssize_t nx = prod4(q.n, q.c, q.h, q.w), ny = prod4(q.n, q.o, q.oh, q.ow);
        Py_ssize_t nw = prod4(q.o, q.c / q.g, q.kh, q.kw);
        if (kind != FORWARD && (a.itemsize != its || a.shape[0] != q.n || a.shape[1] != q.o ||
                                a.shape[2] != q.oh || a.shape[3] != q.ow)) {
            PyErr_SetString(PyExc_ValueError, "_kernels: the output gradient is not (N, O, OH, OW)");
            goto done;
        }
        if (kind == FORWARD ? holds(&a, nx, its, "x") || holds(&b, nw, its, "w") ||
                                  (have_c && holds(&c3, q.o, its, "bias")) ||
                                  holds(&out, ny, its, "y")
            : kind == GRAD_X ? holds(&b, nw, its, "w") || holds(&out, nx, its, "dx")
                             : holds(&b, nx, its, "x") || holds(&out, nw, its, "dw"))
            goto done;
    }
    if ((dbl && dgemm_ptr == NULL) || (!dbl && sgemm_ptr == NULL)) {
        PyErr_SetString(PyExc_RuntimeError, "_kernels: set_blas was not called");
        goto done;
    }
    size_t it = dbl ? 8 : 4;
    size_t cols = (size_t)(q.c * q.kh * q.kw) * (size_t)(q.oh * q.ow) * it;
    size_t gsize = q.gs != NULL ? (size_t)(q.o * q.oh * q.ow) * it : 0;
    col = malloc(cols + gsize > 0 ? cols + gsize : 1);
    if (col == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    gbuf = col + cols;
    Py_BEGIN_ALLOW_THREADS
    if (kind == FORWARD)
        run_forward(dbl, a.buf, b.buf, have_c ? c3.buf : NULL, out.buf, col, &q);
    else if (kind == GRAD_X)
        run_grad_x(dbl, a.buf, b.buf, out.buf, col, gbuf, &q);
    else
        run_grad_w(dbl, a.buf, b.buf, out.buf, col, gbuf, &q);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    free(col);
    if (c3.obj != NULL) PyBuffer_Release(&c3);
    if (a.obj != NULL) PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* a·b·c·d, or -1 if a factor is negative or the product overflows */
static Py_ssize_t prod4(Py_ssize_t a, Py_ssize_t b, Py_ssize_t c, Py_ssize_t d) {
    Py_ssize_t f[4] = {a, b, c, d}, r = 1;
    for (int i = 0; i < 4; i++) {
        if (f[i] < 0) return -1;
        if (f[i] != 0 && r > PY_SSIZE_T_MAX / f[i]) return -1;
        r *= f[i];
    }
    return r;
}

/* 0 if buffer v holds at least `count` items of `it` bytes, else -1 with ValueError naming it */
static int holds(const Py_buffer *v, Py_ssize_t count, Py_ssize_t it, const char *what) {
    if (count < 0 || count > PY_SSIZE_T_MAX / it || v->len < count * it) {
        PyErr_Format(PyExc_ValueError, "_kernels: %s holds %zd bytes, fewer than its geometry needs",
                     what, v->len);
        return -1;
    }
    return 0;
}

/* --- max_pool2d ------------------------------------------------------------------------------ */

typedef struct {
    Py_ssize_t planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
} pgeom;

/* The window of output row (or column) i: its first input index r0 = i*s - pad, and the range
 * [lo, hi) of kernel offsets that fall inside the input's n rows (or columns). */
static inline Py_ssize_t clip_window(Py_ssize_t i, Py_ssize_t s, Py_ssize_t pad, Py_ssize_t k,
                                     Py_ssize_t n, Py_ssize_t *lo, Py_ssize_t *hi) {
    Py_ssize_t r0 = i * s - pad;
    *lo = r0 < 0 ? -r0 : 0;
    *hi = r0 + k > n ? n - r0 : k;
    return r0;
}

/* The loops read the geometry from locals (a store through T* may alias the struct's fields for
 * the compiler) and are branch-free in the data: maxima by comparison and selection, NaN as a flag,
 * hits as 0/1 factors, so that random data costs no mispredicted branches. */
#define POOL(T)                                                                                \
    static void pool_fwd_##T(const T *x, T *y, const pgeom *q) {                               \
        const Py_ssize_t h = q->h, w = q->w, kh = q->kh, kw = q->kw, sh = q->sh, sw = q->sw;   \
        const Py_ssize_t ph = q->ph, pw = q->pw, oh = q->oh, ow = q->ow, planes = q->planes;  \
        if (kh == 2 && kw == 2 && ph == 0 && pw == 0) { /* the common 2x2 window, inside */     \
            for (Py_ssize_t p = 0; p < planes; p++) {                                          \
                const T *xp = x + p * h * w;                                                   \
                T *yp = y + p * oh * ow;                                                       \
                for (Py_ssize_t i = 0; i < oh; i++) {                                          \
                    const T *u = xp + i * sh * w, *d = u + w;                                  \
                    for (Py_ssize_t j = 0; j < ow; j++) {                                      \
                        T a = u[j * sw], b = u[j * sw + 1], c = d[j * sw], e = d[j * sw + 1];  \
                        T m1 = a > b ? a : b, m2 = c > e ? c : e, m = m1 > m2 ? m1 : m2;       \
                        int nan = (a != a) | (b != b) | (c != c) | (e != e);                   \
                        yp[i * ow + j] = nan ? (T)NAN : m;                                     \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            return;                                                                            \
        }                                                                                      \
        for (Py_ssize_t p = 0; p < planes; p++) {                                              \
            const T *xp = x + p * h * w;                                                       \
            T *yp = y + p * oh * ow;                                                           \
            for (Py_ssize_t i = 0; i < oh; i++) {                                              \
                Py_ssize_t a0, a1, r0 = clip_window(i, sh, ph, kh, h, &a0, &a1);              \
                for (Py_ssize_t j = 0; j < ow; j++) {                                          \
                    Py_ssize_t b0, b1, c0 = clip_window(j, sw, pw, kw, w, &b0, &b1);          \
                    T m = -(T)INFINITY;                                                        \
                    int nan = 0;                                                               \
                    for (Py_ssize_t a = a0; a < a1; a++) {                                     \
                        const T *row = xp + (r0 + a) * w + c0;                                 \
                        for (Py_ssize_t b = b0; b < b1; b++) {                                 \
                            T v = row[b];                                                      \
                            m = v >= m ? v : m;                                                \
                            nan |= v != v;                                                     \
                        }                                                                      \
                    }                                                                          \
                    yp[i * ow + j] = nan ? (T)NAN : m;                                         \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }                                                                                          \
    static void pool_bwd_##T(const T *g, const T *y, const T *x, T *dx, const pgeom *q) {      \
        const Py_ssize_t h = q->h, w = q->w, kh = q->kh, kw = q->kw, sh = q->sh, sw = q->sw;   \
        const Py_ssize_t ph = q->ph, pw = q->pw, oh = q->oh, ow = q->ow, planes = q->planes;  \
        memset(dx, 0, sizeof(T) * planes * h * w);                                             \
        if (kh == 2 && kw == 2 && ph == 0 && pw == 0) { /* the common 2x2 window, inside */     \
            for (Py_ssize_t p = 0; p < planes; p++) {                                          \
                const T *xp = x + p * h * w, *gp = g + p * oh * ow, *ypl = y + p * oh * ow;    \
                T *dp = dx + p * h * w;                                                        \
                for (Py_ssize_t i = 0; i < oh; i++) {                                          \
                    const T *u = xp + i * sh * w, *d = u + w;                                  \
                    T *du = dp + i * sh * w, *dd = du + w;                                     \
                    for (Py_ssize_t j = 0; j < ow; j++) {                                      \
                        Py_ssize_t c = j * sw;                                                 \
                        T m = ypl[i * ow + j];                                                 \
                        T ha = (T)(u[c] == m), hb = (T)(u[c + 1] == m);                        \
                        T hc = (T)(d[c] == m), he = (T)(d[c + 1] == m);                        \
                        T share = gp[i * ow + j] / (ha + hb + hc + he);                        \
                        du[c] += ha * share;                                                   \
                        du[c + 1] += hb * share;                                               \
                        dd[c] += hc * share;                                                   \
                        dd[c + 1] += he * share;                                               \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
            return;                                                                            \
        }                                                                                      \
        for (Py_ssize_t p = 0; p < planes; p++) {                                              \
            const T *xp = x + p * h * w;                                                       \
            T *dp = dx + p * h * w;                                                            \
            const T *gp = g + p * oh * ow, *ypl = y + p * oh * ow;                             \
            for (Py_ssize_t i = 0; i < oh; i++) {                                              \
                Py_ssize_t a0, a1, r0 = clip_window(i, sh, ph, kh, h, &a0, &a1);              \
                for (Py_ssize_t j = 0; j < ow; j++) {                                          \
                    Py_ssize_t b0, b1, c0 = clip_window(j, sw, pw, kw, w, &b0, &b1);          \
                    T m = ypl[i * ow + j];                                                     \
                    /* padding entries are -inf: hits when the maximum is -inf */              \
                    long inside = (a1 - a0) * (b1 - b0);                                       \
                    long count = (m == -(T)INFINITY) ? (long)(kh * kw) - inside : 0;           \
                    for (Py_ssize_t a = a0; a < a1; a++) {                                     \
                        const T *row = xp + (r0 + a) * w + c0;                                 \
                        for (Py_ssize_t b = b0; b < b1; b++) count += row[b] == m;             \
                    }                                                                          \
                    T share = gp[i * ow + j] / (T)count;                                       \
                    for (Py_ssize_t a = a0; a < a1; a++) {                                     \
                        const T *row = xp + (r0 + a) * w + c0;                                 \
                        T *drow = dp + (r0 + a) * w + c0;                                      \
                        for (Py_ssize_t b = b0; b < b1; b++) drow[b] += (T)(row[b] == m) * share; \
                    }                                                                          \
                }                                                                              \
            }                                                                                  \
        }                                                                                      \
    }

POOL(double)
POOL(float)

/* pool(backward, double, (planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow), x, y, g_or_None, out):
 * forward: out = pool(x); backward: out = the input gradient from g and the forward's y. */
static PyObject *py_pool(PyObject *self, PyObject *args) {
    int backward, dbl;
    PyObject *gt, *third;
    Py_buffer x = {0}, y = {0}, out = {0}, g = {0};
    pgeom q;
    (void)self;
    if (!PyArg_ParseTuple(args, "ppOy*y*Ow*", &backward, &dbl, &gt, &x, &y, &third, &out))
        return NULL;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(gt, "nnnnnnnnnnn", &q.planes, &q.h, &q.w, &q.kh, &q.kw, &q.sh, &q.sw,
                          &q.ph, &q.pw, &q.oh, &q.ow))
        goto done;
    if (backward && PyObject_GetBuffer(third, &g, PyBUF_SIMPLE) < 0) goto done;
    /* the 2x2 path reads without bounds checks: every window must start inside the padded input */
    if (q.kh < 1 || q.kw < 1 || q.sh < 1 || q.sw < 1 || q.ph < 0 || q.pw < 0 || q.oh < 0 ||
        q.ow < 0 || (q.oh > 0 && (q.oh - 1) * q.sh + q.kh > q.h + 2 * q.ph) ||
        (q.ow > 0 && (q.ow - 1) * q.sw + q.kw > q.w + 2 * q.pw)) {
        PyErr_SetString(PyExc_ValueError, "_kernels: inconsistent max_pool2d geometry");
        goto done;
    }
    {
        Py_ssize_t its = dbl ? 8 : 4, nx = prod4(q.planes, q.h, q.w, 1);
        Py_ssize_t ny = prod4(q.planes, q.oh, q.ow, 1);
        if (holds(&x, nx, its, "x") || holds(&out, backward ? nx : ny, its, "out") ||
            (backward && (holds(&y, ny, its, "y") || holds(&g, ny, its, "g"))))
            goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (!backward) {
        if (dbl) pool_fwd_double(x.buf, out.buf, &q);
        else pool_fwd_float(x.buf, out.buf, &q);
    } else {
        if (dbl) pool_bwd_double(g.buf, y.buf, x.buf, out.buf, &q);
        else pool_bwd_float(g.buf, y.buf, x.buf, out.buf, &q);
    }
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    if (g.obj != NULL) PyBuffer_Release(&g);
    PyBuffer_Release(&x);
    PyBuffer_Release(&y);
    PyBuffer_Release(&out);
    return result;
}

/* --- Adam ------------------------------------------------------------------------------------ */

/* The loop is bound by division and square root: on x86-64 with GCC it is compiled for AVX-512,
 * AVX2 and the baseline, and the loader picks the best the CPU has (function multiversioning).
 * Each lane rounds as the scalar code does, so every version gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define VERSIONS __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VERSIONS
#endif

/* One Adam update of n elements in place, each through the operations of optim._adam_kernel in
 * its order and dtype (a coefficient is rounded to T first, as NumPy does with a Python float):
 * decoupled decay or an L2 term, then the moments, then the step. */
#define ADAM(T, SQRT)                                                                          \
    VERSIONS static void adam_##T(T *d, const T *g, T *m, T *v, Py_ssize_t n, int decoupled, double decay, \
                         double l2, double b1, double b2, double inv, double eps, double step) {  \
        const T cdecay = (T)decay, cl2 = (T)l2, cb1 = (T)b1, cb2 = (T)b2;                      \
        const T c1 = (T)(1.0 - b1), c2 = (T)(1.0 - b2), cinv = (T)inv, ceps = (T)eps;          \
        const T cstep = (T)step;                                                               \
        const int use_l2 = !decoupled && l2 != 0.0, use_inv = inv != 1.0;                     \
        for (Py_ssize_t i = 0; i < n; i++) {                                                   \
            T di = d[i], gi = g[i];                                                            \
            if (decoupled) di = di * cdecay;                                                   \
            else if (use_l2) gi = gi + cl2 * di;                                               \
            T mi = m[i] * cb1;                                                                 \
            mi = mi + gi * c1;                                                                 \
            T vi = v[i] * cb2;                                                                 \
            vi = vi + (gi * gi) * c2;                                                          \
            T den = SQRT(vi);                                                                  \
            if (use_inv) den = den * cinv;                                                     \
            den = den + ceps;                                                                  \
            T upd = (mi / den) * cstep;                                                        \
            m[i] = mi;                                                                         \
            v[i] = vi;                                                                         \
            d[i] = di - upd;                                                                   \
        }                                                                                      \
    }

ADAM(double, sqrt)
ADAM(float, sqrtf)

/* adam(double, d, g, m, v, decoupled, decay, l2, b1, b2, inv_sqrt_bias2, eps, step_size) on four
 * C-contiguous buffers of the same length and dtype. */
static PyObject *py_adam(PyObject *self, PyObject *args) {
    int dbl, decoupled;
    Py_buffer d = {0}, g = {0}, m = {0}, v = {0};
    double decay, l2, b1, b2, inv, eps, step;
    (void)self;
    if (!PyArg_ParseTuple(args, "pw*y*w*w*pddddddd", &dbl, &d, &g, &m, &v, &decoupled, &decay,
                          &l2, &b1, &b2, &inv, &eps, &step))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t it = dbl ? 8 : 4;
    if (d.len % it || g.len != d.len || m.len != d.len || v.len != d.len) {
        PyErr_SetString(PyExc_ValueError, "_kernels: adam's four buffers differ in length");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    if (dbl) adam_double(d.buf, g.buf, m.buf, v.buf, d.len / it, decoupled, decay, l2, b1, b2, inv,
                         eps, step);
    else adam_float(d.buf, g.buf, m.buf, v.buf, d.len / it, decoupled, decay, l2, b1, b2, inv, eps,
                    step);
    Py_END_ALLOW_THREADS
    result = Py_None;
    Py_INCREF(result);
done:
    PyBuffer_Release(&d);
    PyBuffer_Release(&g);
    PyBuffer_Release(&m);
    PyBuffer_Release(&v);
    return result;
}

static PyObject *py_set_blas(PyObject *self, PyObject *args) {
    PyObject *dcap, *scap;
    long mnk;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOl", &dcap, &scap, &mnk)) return NULL;
    void *d = PyCapsule_GetPointer(dcap, PyCapsule_GetName(dcap));
    if (d == NULL) return NULL;
    void *s = PyCapsule_GetPointer(scap, PyCapsule_GetName(scap));
    if (s == NULL) return NULL;
    dgemm_ptr = (dgemm_t)d;
    sgemm_ptr = (sgemm_t)s;
    single_thread_mnk = mnk > 0 ? mnk : 1;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"kernel", py_kernel, METH_VARARGS, "Run one conv2d contraction on samples [start, stop)."},
    {"pool", py_pool, METH_VARARGS, "max_pool2d's forward or backward pass."},
    {"adam", py_adam, METH_VARARGS, "One Adam update in place."},
    {"set_blas", py_set_blas, METH_VARARGS, "Set the dgemm and sgemm capsules and the serial size."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_kernels", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__kernels(void) { return PyModule_Create(&module); }
