/*
 * chainrule._vmath: exp and tanh of float64 buffers in loops the compiler vectorizes (AVX2 where the
 * CPU has it), for machines where NumPy has no SIMD kernel for them (its float64 exp and tanh are
 * vectorized for AVX-512 only; elsewhere they are the C library's, one element at a time).
 *
 * exp(x): x = k ln2 + r with k the nearest integer to x/ln2 (found by adding and subtracting
 * 1.5 * 2^52) and r = (x - k ln2_hi) - k ln2_lo, |r| <= ln2/2 (ln 2 split so that k ln2_hi is exact);
 * e^r = 1 + (r + r^2 q(r)), q the Taylor polynomial with the terms 1/2! .. 1/14! (the first term left
 * out is below 2^-60 of the result); the result times 2^(k - floor(k/2)) times 2^floor(k/2), two
 * powers of two built in the exponent bits, so that a result in the subnormal range is rounded once.
 * Arguments are clamped to [-745.2, 709.79]: past them the result is 0 or inf anyway.
 *
 * tanh(x) = sign(x) t(|x|): t(a) = a + a s p(s), s = a^2, for a < 0.625 (p: the Taylor series of tanh
 * up to a^45, from the Bernoulli numbers; the first term left out is below 2^-61 of the result), else
 * t(a) = 1 - 2 / (e^(2a) + 1), with a clamped at 20 (t rounds to 1 from 19.1 on).
 *
 * Measured against 120-bit references (millions of points, every range): exp within 0.97 ulp, tanh
 * within 1.34 (NumPy's own AVX-512 kernels: 0.68 and 1.18). The loops run in round-to-nearest (the
 * reduction assumes it), whatever mode the caller set; the caller's mode is restored after.
 * Compiled with -ffp-contract=fast: the x86-64-v3 clone (AVX2 and FMA) fuses the polynomials' steps
 * into FMAs, in its vector loop and its scalar remainder alike (the tests compare the two); the baseline
 * clone has no FMA, so its last bits may differ. Both loops keep the floating-point flags they raise
 * to themselves (fp_enter/fp_leave), and count the arguments for which NumPy would raise one
 * (exp's overflow and underflow, tanh's subnormal arguments): the Python side (chainrule.vmath) then
 * lets NumPy raise them, under its errstate.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fenv.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif

static const double INVLN2 = 0x1.71547652b82fep+0;
static const double LN2_HI = 0x1.62e42fee00000p-1;
static const double LN2_LO = 0x1.a39ef35793c76p-33;
static const double SHIFT = 0x1.8p52;
static const double TWO52 = 0x1p52;

static const double EXP_Q[13] = {
    0x1.0000000000000p-1,  0x1.5555555555555p-3,  0x1.5555555555555p-5,  0x1.1111111111111p-7,
    0x1.6c16c16c16c17p-10, 0x1.a01a01a01a01ap-13, 0x1.a01a01a01a01ap-16, 0x1.71de3a556c734p-19,
    0x1.27e4fb7789f5cp-22, 0x1.ae64567f544e4p-26, 0x1.1eed8eff8d898p-29, 0x1.6124613a86d09p-33,
    0x1.93974a8c07c9dp-37,
};

static const double TANH_P[22] = {
    -0x1.5555555555555p-2,  0x1.1111111111111p-3,  -0x1.ba1ba1ba1ba1cp-5,  0x1.664f4882c10fap-6,
    -0x1.226e355e6c23dp-7,  0x1.d6d3d0e157de0p-9,  -0x1.7da36452b75e3p-10, 0x1.3558248036744p-11,
    -0x1.f57d7734d1664p-13, 0x1.967e18afcafadp-14, -0x1.497d8eea25259p-15, 0x1.0b132d39a6050p-16,
    -0x1.b0f72d3ee24e9p-18, 0x1.5ef2da474e5b7p-19, -0x1.1c77df95c1c0dp-20, 0x1.cd299de4ae6bbp-22,
    -0x1.75cde6563fed9p-23, 0x1.2efe8db3aff1fp-24, -0x1.eb3229047434cp-26, 0x1.8e25ff9327e2cp-27,
    -0x1.42ba1a349b490p-28, 0x1.0597b61cb3092p-29,
};

/* NumPy raises overflow past this argument, underflow (a subnormal result) below the other. */
static const double EXP_OVER = 0x1.62e42fefa39efp+9;
static const double EXP_UNDER = -0x1.6232bdd7abcd2p+9;
static const double TINY = 0x1p-1022;

static inline double bits_to_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static inline uint64_t double_to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

/* 2^m for an integer-valued m in [-1022, 1023] */
static inline double pow2(double m)
{
    return bits_to_double(double_to_bits(m + 1023.0 + TWO52) << 52);
}

static inline double exp1(double x)
{
    x = x > 709.79 ? 709.79 : x;
    x = x < -745.2 ? -745.2 : x;
    double k = (x * INVLN2 + SHIFT) - SHIFT;
    double r = (x - k * LN2_HI) - k * LN2_LO;
    double q = EXP_Q[12];
#pragma GCC unroll 16
    for (int i = 11; i >= 0; i--)
        q = q * r + EXP_Q[i];
    double y = 1.0 + (r + (r * r) * q);
    double half = __builtin_floor(k * 0.5);
    return (y * pow2(k - half)) * pow2(half);
}

CLONES static Py_ssize_t exp_loop(const double *restrict x, double *restrict y, Py_ssize_t n)
{
    Py_ssize_t flagged = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = x[i];
        flagged += (v > EXP_OVER) | (v < EXP_UNDER);
        y[i] = exp1(v);
    }
    return flagged;
}

CLONES static Py_ssize_t tanh_loop(const double *restrict x, double *restrict y, Py_ssize_t n)
{
    Py_ssize_t flagged = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        double v = x[i];
        double a = __builtin_fabs(v);
        flagged += (a < TINY) & (a != 0.0);
        double s = a * a;
        double p = TANH_P[21];
#pragma GCC unroll 32
        for (int j = 20; j >= 0; j--)
            p = p * s + TANH_P[j];
        double small = a + a * (s * p);
        double e = exp1(2.0 * (a < 20.0 ? a : 20.0));
        double big = 1.0 - 2.0 / (e + 1.0);
        double t = a >= 0.625 ? big : small; /* NaN takes the series: NaN */
        y[i] = __builtin_copysign(t, v);
    }
    return flagged;
}

/* The floating-point state around a loop: round to nearest, no traps, and on leaving, the caller's
 * state back, flags included (so the flags the loop raised are dropped and earlier ones kept). On
 * x86-64 the loops use SSE/AVX only, whose state is MXCSR: two instructions, where the C library's
 * fenv calls also save the x87 state (about 150 ns, more than a scalar's tanh). Elsewhere, or built
 * with -DCHAINRULE_VMATH_FENV (to check the portable path), the fenv calls. */
#if (defined(__x86_64__) || defined(_M_X64)) && !defined(CHAINRULE_VMATH_FENV)
#include <immintrin.h>
typedef unsigned int fpstate;
static inline fpstate fp_enter(void)
{
    unsigned int csr = _mm_getcsr();
    /* flags (bits 0-5) and rounding (13-14) cleared, every exception masked (7-12) */
    _mm_setcsr((csr & ~0x603Fu) | 0x1F80u);
    return csr;
}
static inline void fp_leave(fpstate csr) { _mm_setcsr(csr); }
#else
typedef fenv_t fpstate;
static inline fpstate fp_enter(void)
{
    fenv_t env;
    feholdexcept(&env);
    fesetround(FE_TONEAREST);
    return env;
}
static inline void fp_leave(fpstate env) { fesetenv(&env); }
#endif

typedef Py_ssize_t (*loop_t)(const double *, double *, Py_ssize_t);

/* f(x, out) -> the count of flagged arguments. x and out: float64 buffers of one length, out writable
 * and not overlapping x unless it is x. */
static PyObject *run(PyObject *args, loop_t loop, const char *name)
{
    PyObject *xo, *yo;
    if (!PyArg_ParseTuple(args, "OO", &xo, &yo))
        return NULL;
    Py_buffer bx, by;
    if (PyObject_GetBuffer(xo, &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(yo, &by, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    PyObject *result = NULL;
    if (bx.itemsize != 8 || by.itemsize != 8 || bx.format == NULL || by.format == NULL ||
        strcmp(bx.format, "d") != 0 || strcmp(by.format, "d") != 0) {
        PyErr_Format(PyExc_TypeError, "%s: x and out must be float64 buffers", name);
    } else if ((uintptr_t)bx.buf % sizeof(double) != 0 || (uintptr_t)by.buf % sizeof(double) != 0) {
        PyErr_Format(PyExc_ValueError, "%s: x and out must be aligned to 8 bytes", name);
    } else if (bx.len != by.len) {
        PyErr_Format(PyExc_ValueError, "%s: x has %zd bytes, out %zd", name, bx.len, by.len);
    } else {
        const char *xs = bx.buf, *ys = by.buf;
        int apart = xs + bx.len <= ys || ys + by.len <= xs || xs == ys;
        if (!apart) {
            PyErr_Format(PyExc_ValueError, "%s: out overlaps x", name);
        } else {
            fpstate env;
            Py_ssize_t flagged;
            Py_BEGIN_ALLOW_THREADS
            env = fp_enter();
            flagged = loop(bx.buf, by.buf, bx.len / 8);
            fp_leave(env);
            Py_END_ALLOW_THREADS
            result = PyLong_FromSsize_t(flagged);
        }
    }
    PyBuffer_Release(&bx);
    PyBuffer_Release(&by);
    return result;
}

static PyObject *py_exp(PyObject *self, PyObject *args)
{
    (void)self;
    return run(args, exp_loop, "exp");
}

static PyObject *py_tanh(PyObject *self, PyObject *args)
{
    (void)self;
    return run(args, tanh_loop, "tanh");
}

/* f1(x) -> f(x) as a float, computed by the loop itself (the same bits as in an array), or None for an
 * argument NumPy would flag (the caller then takes the array path, which lets NumPy raise). */
static PyObject *one(PyObject *arg, loop_t loop)
{
    double v = PyFloat_AsDouble(arg), y;
    if (v == -1.0 && PyErr_Occurred())
        return NULL;
    fpstate env = fp_enter();
    Py_ssize_t flagged = loop(&v, &y, 1);
    fp_leave(env);
    if (flagged)
        Py_RETURN_NONE;
    return PyFloat_FromDouble(y);
}

static PyObject *py_exp1(PyObject *self, PyObject *arg)
{
    (void)self;
    return one(arg, exp_loop);
}

static PyObject *py_tanh1(PyObject *self, PyObject *arg)
{
    (void)self;
    return one(arg, tanh_loop);
}

static PyMethodDef methods[] = {
    {"exp1", py_exp1, METH_O, "exp1(x) -> exp(x) as a float, or None where NumPy would flag it."},
    {"tanh1", py_tanh1, METH_O, "tanh1(x) -> tanh(x) as a float, or None where NumPy would flag it."},
    {"exp", py_exp, METH_VARARGS, "exp(x, out) -> count of arguments NumPy would flag."},
    {"tanh", py_tanh, METH_VARARGS, "tanh(x, out) -> count of arguments NumPy would flag."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_vmath", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__vmath(void) { return PyModule_Create(&module); }
