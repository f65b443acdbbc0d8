/* skconv._native: a compiled direct convolution for the engine (skconv._engine).
 *
 * Two functions, conv(x, w, out, geometry, n0, n1) and conv_depthwise(...):
 * channels-last input and output, filters-last weights (see _native_kernel.h
 * for the layouts and the loops). It takes any buffers (numpy arrays) through the buffer protocol, so
 * the build needs no numpy headers, and releases the GIL while it computes:
 * the engine's callers run it on several batches in threads.
 *
 * Instances: float32 and float64, each for AVX-512, AVX2 + FMA and plain C
 * (GCC or clang vector extensions), chosen when the module loads from what the
 * processor supports.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__clang__)
/* GCC's -O3 would carry each kernel tap's input values into the next tap through
 * spilled registers (predictive commoning): 1.3x slower */
#pragma GCC optimize("no-predictive-commoning")
#endif

typedef struct {
    Py_ssize_t n, D, H, W, C;     /* padded input */
    Py_ssize_t G, cg, fg, FP;     /* groups, channels and filters per group, padded fg */
    Py_ssize_t KD, KH, KW;        /* kernel */
    Py_ssize_t sd, sh, sw;        /* strides */
    Py_ssize_t dd, dh, dw;        /* dilations */
    Py_ssize_t OD, OH, OW;        /* output */
} conv_geometry;

/* kernels of at most 25 positions (5x5, 3x3x3, 1-D up to 25) on at most 4
 * channels per group get blocks of several filter vectors: measured 0.44-0.96x
 * the time with one vector a block for 3x3 and 5x5 kernels (greyscale and RGB)
 * and 1-D kernels of 9 and 15; up to 1.17x for longer kernels (1-D 31, 7x7
 * with 128 filters) and 1.15x for 3x3 on 32 channels */
#define MULTI_TAPS(g) ((g)->KD * (g)->KH * (g)->KW <= 25 && (g)->cg <= 4)

#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define SKCONV_X86 1
#endif

/* plain C: 32-byte vectors, whatever the compiler makes of them */
#define TARGET
#define RMAX 6
#define T float
#define VW 8
#define NAME(s) CAT(s, f32_generic)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#define T double
#define VW 4
#define NAME(s) CAT(s, f64_generic)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#undef TARGET
#undef RMAX

#ifdef SKCONV_X86
#define TARGET __attribute__((target("avx2,fma")))
#define RMAX 12
#define T float
#define VW 8
#define NAME(s) CAT(s, f32_avx2)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#define T double
#define VW 4
#define NAME(s) CAT(s, f64_avx2)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#undef TARGET
#undef RMAX

#define TARGET __attribute__((target("avx512f,fma")))
#define RMAX 24
#define T float
#define VW 16
#define NAME(s) CAT(s, f32_avx512)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#define T double
#define VW 8
#define NAME(s) CAT(s, f64_avx512)
#include "_native_kernel.h"
#undef T
#undef VW
#undef NAME
#undef TARGET
#undef RMAX
#endif

typedef void (*conv_f32)(const conv_geometry *, const float *, const float *, float *,
                         Py_ssize_t, Py_ssize_t);
typedef void (*conv_f64)(const conv_geometry *, const double *, const double *, double *,
                         Py_ssize_t, Py_ssize_t);

static conv_f32 impl_f32 = conv_f32_generic;
static conv_f64 impl_f64 = conv_f64_generic;
static conv_f32 impl_dw_f32 = conv_dw_f32_generic;
static conv_f64 impl_dw_f64 = conv_dw_f64_generic;
static const char *isa = "generic";
static int lanes_f32 = 8;

static int
get_geometry(PyObject *seq, conv_geometry *g)
{
    Py_ssize_t v[22];
    PyObject *fast = PySequence_Fast(seq, "geometry must be a sequence of 22 integers");
    if (fast == NULL)
        return -1;
    if (PySequence_Fast_GET_SIZE(fast) != 22) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "geometry must be a sequence of 22 integers");
        return -1;
    }
    for (Py_ssize_t i = 0; i < 22; i++) {
        v[i] = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(fast, i));
        if (v[i] == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            return -1;
        }
        if (v[i] < 0 || (i >= 9 && i < 18 && v[i] < 1)) {
            Py_DECREF(fast);
            PyErr_SetString(PyExc_ValueError, "geometry values out of range");
            return -1;
        }
    }
    Py_DECREF(fast);
    g->n = v[0]; g->D = v[1]; g->H = v[2]; g->W = v[3]; g->C = v[4];
    g->G = v[5]; g->cg = v[6]; g->fg = v[7]; g->FP = v[8];
    g->KD = v[9]; g->KH = v[10]; g->KW = v[11];
    g->sd = v[12]; g->sh = v[13]; g->sw = v[14];
    g->dd = v[15]; g->dh = v[16]; g->dw = v[17];
    g->OD = v[18]; g->OH = v[19]; g->OW = v[20];
    /* v[21]: the element size, checked against the buffers */
    return (int)v[21];
}

static int
check_sizes(const conv_geometry *g, Py_ssize_t itemsize, const Py_buffer *x,
            const Py_buffer *w, const Py_buffer *out, int depthwise)
{
    /* every index the kernel forms must lie inside its buffer */
    Py_ssize_t wlen = g->G * g->KD * g->KH * g->KW * g->cg * g->FP;
    if (depthwise) {
        /* channels padded to FP in the input and the weights, G in the output */
        if (g->cg != 1 || g->fg != 1 || g->C != g->FP || g->FP < g->G || g->FP % 16) {
            PyErr_SetString(PyExc_ValueError, "buffer sizes do not match the geometry");
            return -1;
        }
        wlen = g->KD * g->KH * g->KW * g->FP;
    }
    else if (g->G * g->cg != g->C || g->FP < g->fg || g->FP % 16) {
        PyErr_SetString(PyExc_ValueError, "buffer sizes do not match the geometry");
        return -1;
    }
    if ((g->OD && (g->OD - 1) * g->sd + (g->KD - 1) * g->dd >= g->D)
        || (g->OH && (g->OH - 1) * g->sh + (g->KH - 1) * g->dh >= g->H)
        || (g->OW && (g->OW - 1) * g->sw + (g->KW - 1) * g->dw >= g->W)
        || x->len != g->n * g->D * g->H * g->W * g->C * itemsize
        || w->len != wlen * itemsize
        || out->len != g->n * g->OD * g->OH * g->OW * g->G * g->fg * itemsize) {
        PyErr_SetString(PyExc_ValueError, "buffer sizes do not match the geometry");
        return -1;
    }
    return 0;
}

static PyObject *
run_conv(PyObject *args, int depthwise)
{
    Py_buffer x, w, out;
    PyObject *geometry;
    Py_ssize_t n0, n1;
    conv_geometry g;
    if (!PyArg_ParseTuple(args, "y*y*w*Onn", &x, &w, &out, &geometry, &n0, &n1))
        return NULL;
    PyObject *result = NULL;
    int itemsize = get_geometry(geometry, &g);
    if (itemsize < 0)
        goto done;
    if (itemsize != 4 && itemsize != 8) {
        PyErr_SetString(PyExc_ValueError, "element size must be 4 (float32) or 8 (float64)");
        goto done;
    }
    if (check_sizes(&g, itemsize, &x, &w, &out, depthwise) < 0)
        goto done;
    if (n0 < 0 || n1 > g.n || n0 > n1) {
        PyErr_SetString(PyExc_ValueError, "sample range out of bounds");
        goto done;
    }
    conv_f32 f32 = depthwise ? impl_dw_f32 : impl_f32;
    conv_f64 f64 = depthwise ? impl_dw_f64 : impl_f64;
    Py_BEGIN_ALLOW_THREADS
    if (itemsize == 4)
        f32(&g, (const float *)x.buf, (const float *)w.buf, (float *)out.buf, n0, n1);
    else
        f64(&g, (const double *)x.buf, (const double *)w.buf, (double *)out.buf, n0, n1);
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&x);
    PyBuffer_Release(&w);
    PyBuffer_Release(&out);
    return result;
}

static PyObject *
native_conv(PyObject *self, PyObject *args)
{
    return run_conv(args, 0);
}

static PyObject *
native_conv_depthwise(PyObject *self, PyObject *args)
{
    return run_conv(args, 1);
}

/* the instances of one instruction set: the filters' and the depthwise kernels,
 * float32 and float64 */
#define SKCONV_USE(suffix, name, lanes)                                              \
    do {                                                                             \
        impl_f32 = conv_f32_##suffix;                                                \
        impl_f64 = conv_f64_##suffix;                                                \
        impl_dw_f32 = conv_dw_f32_##suffix;                                          \
        impl_dw_f64 = conv_dw_f64_##suffix;                                          \
        isa = name;                                                                  \
        lanes_f32 = lanes;                                                           \
    } while (0)

static int
use_isa(const char *name)
{
    /* 0 when the instances of ``name`` are in use, -1 when this build or this
     * processor does not have them */
    if (strcmp(name, "generic") == 0) {
        SKCONV_USE(generic, "generic", 8);
        return 0;
    }
#ifdef SKCONV_X86
    if (strcmp(name, "avx2") == 0 && __builtin_cpu_supports("avx2")
        && __builtin_cpu_supports("fma")) {
        SKCONV_USE(avx2, "avx2", 8);
        return 0;
    }
    if (strcmp(name, "avx512f") == 0 && __builtin_cpu_supports("avx512f")) {
        SKCONV_USE(avx512, "avx512f", 16);
        return 0;
    }
#endif
    return -1;
}
#undef SKCONV_USE

static int
publish_isa(PyObject *m)
{
    if (PyModule_AddStringConstant(m, "isa", isa) < 0
        || PyModule_AddIntConstant(m, "lanes_float32", lanes_f32) < 0)
        return -1;
    return 0;
}

static PyObject *
native_set_isa(PyObject *self, PyObject *args)
{
    const char *name;
    if (!PyArg_ParseTuple(args, "s", &name))
        return NULL;
    PyObject *previous = PyUnicode_FromString(isa);
    if (previous == NULL)
        return NULL;
    if (use_isa(name) < 0) {
        Py_DECREF(previous);
        return PyErr_Format(PyExc_ValueError,
                            "isa must be 'generic', or 'avx2' or 'avx512f' where this processor "
                            "has them, got '%s'.", name);
    }
    if (publish_isa(self) < 0) {
        Py_DECREF(previous);
        return NULL;
    }
    return previous;
}

static PyMethodDef methods[] = {
    {"conv", native_conv, METH_VARARGS,
     "conv(x, w, out, geometry, n0, n1): direct convolution of samples n0:n1 into out."},
    {"conv_depthwise", native_conv_depthwise, METH_VARARGS,
     "conv_depthwise(x, w, out, geometry, n0, n1): one filter per channel, vectors of "
     "channels; x and w have their channels padded to geometry's FP (== C), out has G."},
    {"set_isa", native_set_isa, METH_VARARGS,
     "set_isa(name): use the instances of 'generic', 'avx2' or 'avx512f' (for tests and "
     "measurements); returns the name of those used before."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_native", "Compiled direct convolution (see skconv._engine).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
#ifdef SKCONV_X86
    __builtin_cpu_init();
#endif
    if (use_isa("avx512f") < 0 && use_isa("avx2") < 0)
        use_isa("generic");
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (publish_isa(m) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
