/*
 * chainrule.autodiff._walk: the backward pass of backward._walk_fast, in C.
 *
 * The same walk as the Python function, step for step: nodes keyed by -_seq are visited from a
 * min-heap of keys, each node's accumulated gradient is handed to the VJP rule of each parent that
 * requires grad, reduced to the parent's shape, and added (old + new) to what that parent has
 * accumulated; leaves collect their gradients in the order they are reached and store them at the
 * end. Every rule is the Python rule, called as the Python walk calls it, except the four that the
 * Python walk also runs inline for a 0-d float64 node with a np.float64 gradient (+ - * and tanh),
 * which run here with the same NumPy scalar operations in the same order: the same objects, the
 * same bits. What is rare or long (verifying saved values after an in-place change, an operand's
 * position among constants, unbroadcasting, storing a non-scalar gradient, releasing saved arrays,
 * the errors) is done by the Python helpers that setup() hands over.
 *
 * What this saves is the interpreter's work per node (about half of a scalar graph's backward
 * time). The Tensor's slots are read and written at their offsets, taken from the class's member
 * descriptors at setup; every object is checked to be a Tensor (or a subclass, which keeps the
 * offsets) before its slots are touched.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

enum { K_PASS = 0, K_MUL_A = 1, K_MUL_B = 2, K_TANH = 3 };

enum { S_DATA, S_REQ, S_GRAD, S_NAME, S_OP, S_PARENTS, S_PARAMS, S_ARGS, S_RAW, S_RETAIN, S_SEQ, NSLOTS };
static const char *slot_names[NSLOTS] = {"_data", "requires_grad", "grad", "name",
                                         "op", "parents", "params", "_args",
                                         "_raw", "_retain", "_seq"};
static Py_ssize_t offsets[NSLOTS];

static PyTypeObject *tensor_type = NULL, *f64_type = NULL, *ndarray_type = NULL;
static PyObject *float64_dtype, *inline_rules, *inline_ops, *kept, *seq_counter, *no_params;
static PyObject *fn_verify, *fn_position, *fn_unbroadcast, *fn_accumulate, *fn_release, *fn_freed,
    *fn_no_rule;
static PyObject *one_float, *zero_long, *s_vjps, *s_vjp_rule, *s_dtype, *s_item, *s_shape;

#define SLOT(o, i) (*(PyObject **)((char *)(o) + offsets[i]))

/* A new reference to slot i of Tensor o, or NULL with AttributeError (an unset slot). */
static PyObject *get(PyObject *o, int i)
{
    PyObject *v = SLOT(o, i);
    if (v == NULL) {
        PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute '%s'",
                     Py_TYPE(o)->tp_name, slot_names[i]);
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

static void set(PyObject *o, int i, PyObject *v)
{
    PyObject *old = SLOT(o, i);
    Py_INCREF(v);
    SLOT(o, i) = v;
    Py_XDECREF(old);
}

static int is_tensor(PyObject *o)
{
    if (PyObject_TypeCheck(o, tensor_type))
        return 1;
    PyErr_Format(PyExc_TypeError, "backward: a graph node's parent is a %.100s, not a Tensor",
                 Py_TYPE(o)->tp_name);
    return 0;
}

/* ---- a binary min-heap of keys (unique, so the pop order is heapq's) ---------------------------- */

typedef struct {
    long long *a;
    Py_ssize_t n, cap;
} heap;

static int heap_push(heap *h, long long k)
{
    if (h->n == h->cap) {
        Py_ssize_t cap = h->cap ? 2 * h->cap : 64;
        long long *a = PyMem_Realloc(h->a, (size_t)cap * sizeof(long long));
        if (a == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        h->a = a;
        h->cap = cap;
    }
    Py_ssize_t i = h->n++;
    while (i > 0) {
        Py_ssize_t up = (i - 1) / 2;
        if (h->a[up] <= k)
            break;
        h->a[i] = h->a[up];
        i = up;
    }
    h->a[i] = k;
    return 0;
}

static long long heap_pop(heap *h)
{
    long long top = h->a[0], last = h->a[--h->n];
    Py_ssize_t i = 0, n = h->n;
    for (;;) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h->a[c + 1] < h->a[c])
            c++;
        if (h->a[c] >= last)
            break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (n > 0)
        h->a[i] = last;
    return top;
}

/* ---- helpers ------------------------------------------------------------------------------------ */

/* The key -t._seq into *out: 0, or -1 with an error set (no _seq, not an int, or -2^63). */
static int key_of(PyObject *t, long long *out)
{
    PyObject *s = get(t, S_SEQ);
    if (s == NULL)
        return -1;
    long long v = PyLong_AsLongLong(s);
    Py_DECREF(s);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (v == LLONG_MIN) {
        PyErr_SetString(PyExc_OverflowError, "backward: a node's _seq is out of range");
        return -1;
    }
    *out = -v;
    return 0;
}

/* t._retain = t._retain - dec */
static int count_down(PyObject *t, PyObject *dec)
{
    PyObject *r = get(t, S_RETAIN);
    if (r == NULL)
        return -1;
    PyObject *n = PyNumber_Subtract(r, dec);
    Py_DECREF(r);
    if (n == NULL)
        return -1;
    set(t, S_RETAIN, n);
    Py_DECREF(n);
    return 0;
}

/* dict[key]: [t, g] added, or its gradient replaced by (old + g). Returns 1 when the key was new. */
static int add_to(PyObject *dict, PyObject *key, PyObject *t, PyObject *g)
{
    PyObject *entry = PyDict_GetItemWithError(dict, key);
    if (entry == NULL) {
        if (PyErr_Occurred())
            return -1;
        PyObject *pair = PyList_New(2);
        if (pair == NULL)
            return -1;
        Py_INCREF(t);
        Py_INCREF(g);
        PyList_SET_ITEM(pair, 0, t);
        PyList_SET_ITEM(pair, 1, g);
        int rc = PyDict_SetItem(dict, key, pair);
        Py_DECREF(pair);
        return rc < 0 ? -1 : 1;
    }
    Py_INCREF(entry);
    PyObject *sum = PyNumber_Add(PyList_GET_ITEM(entry, 1), g);
    if (sum == NULL) {
        Py_DECREF(entry);
        return -1;
    }
    int rc = PyList_SetItem(entry, 1, sum); /* steals sum */
    Py_DECREF(entry);
    return rc < 0 ? -1 : 0;
}

/* The rule's result for a parent whose data is pdata, reduced to its shape (as the Python walk). */
static PyObject *fit_to_parent(PyObject *gk, PyObject *p)
{
    PyObject *pdata = get(p, S_DATA);
    if (pdata == NULL)
        goto fail;
    PyObject *pshape = PyObject_GetAttr(pdata, s_shape);
    Py_DECREF(pdata);
    if (pshape == NULL)
        goto fail;
    int same;
    if (Py_IS_TYPE(gk, f64_type)) {
        /* A NumPy scalar is 0-d: it fits every 0-d operand as it is. */
        int nonempty = PyObject_IsTrue(pshape);
        if (nonempty < 0)
            goto fail_shape;
        same = !nonempty;
    } else {
        if (Py_IS_TYPE(gk, tensor_type)) {
            PyObject *d = get(gk, S_DATA);
            if (d == NULL)
                goto fail_shape;
            Py_DECREF(gk);
            gk = d;
        }
        PyObject *gshape = PyObject_GetAttr(gk, s_shape);
        PyObject *eq = NULL;
        if (gshape != NULL) {
            eq = PyObject_RichCompare(gshape, pshape, Py_EQ);
            Py_DECREF(gshape);
        }
        if (eq == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError))
                goto fail_shape;
            PyErr_Clear();
            same = 0;
        } else {
            same = PyObject_IsTrue(eq);
            Py_DECREF(eq);
            if (same < 0)
                goto fail_shape;
        }
    }
    if (!same) {
        PyObject *shape = PySequence_Tuple(pshape);
        if (shape == NULL)
            goto fail_shape;
        PyObject *r = PyObject_CallFunctionObjArgs(fn_unbroadcast, gk, shape, NULL);
        Py_DECREF(shape);
        Py_DECREF(gk);
        gk = r;
    }
    Py_DECREF(pshape);
    return gk;
fail_shape:
    Py_DECREF(pshape);
fail:
    Py_DECREF(gk);
    return NULL;
}

/* The inline rules on a scalar node; NULL without an error when `kind` does not apply after all. */
static PyObject *inline_rule(long kind, PyObject *gnode, PyObject *data, PyObject *raw)
{
    if (kind == K_PASS) {
        Py_INCREF(gnode);
        return gnode;
    }
    if (kind == K_TANH) { /* g * (1.0 - ans * ans) */
        PyObject *sq = PyNumber_Multiply(data, data);
        if (sq == NULL)
            return NULL;
        PyObject *d = PyNumber_Subtract(one_float, sq);
        Py_DECREF(sq);
        if (d == NULL)
            return NULL;
        PyObject *r = PyNumber_Multiply(gnode, d);
        Py_DECREF(d);
        return r;
    }
    /* mul: the gradient times the other operand */
    if (!PyTuple_Check(raw) || PyTuple_GET_SIZE(raw) != 2)
        return NULL;
    PyObject *other = PyTuple_GET_ITEM(raw, kind == K_MUL_A ? 1 : 0);
    if (Py_IS_TYPE(other, f64_type) || PyFloat_CheckExact(other))
        return PyNumber_Multiply(gnode, other);
    if (Py_IS_TYPE(other, ndarray_type)) {
        PyObject *dt = PyObject_GetAttr(other, s_dtype);
        if (dt == NULL)
            return NULL;
        Py_DECREF(dt); /* compared by identity only */
        if (dt != float64_dtype)
            return NULL;
        PyObject *item = PyObject_CallMethodNoArgs(other, s_item);
        if (item == NULL)
            return NULL;
        PyObject *r = PyNumber_Multiply(gnode, item); /* exact scalar math, as mul_vjp_a/b do */
        Py_DECREF(item);
        return r;
    }
    return NULL;
}

/* rule(g, ans, *raw, **params) */
static PyObject *call_rule(PyObject *rule, PyObject *gnode, PyObject *data, PyObject *raw,
                           PyObject *params)
{
    if (!PyTuple_Check(raw)) {
        PyErr_SetString(PyExc_TypeError, "backward: a node's saved operands are not a tuple");
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(raw);
    int with_params = params == Py_None ? 0 : PyObject_IsTrue(params);
    if (with_params < 0)
        return NULL;
    if (!with_params && n <= 6) {
        PyObject *stack[8];
        stack[0] = gnode;
        stack[1] = data;
        for (Py_ssize_t i = 0; i < n; i++)
            stack[2 + i] = PyTuple_GET_ITEM(raw, i);
        return PyObject_Vectorcall(rule, stack, (size_t)(2 + n), NULL);
    }
    PyObject *pos = PyTuple_New(2 + n);
    if (pos == NULL)
        return NULL;
    Py_INCREF(gnode);
    Py_INCREF(data);
    PyTuple_SET_ITEM(pos, 0, gnode);
    PyTuple_SET_ITEM(pos, 1, data);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PyTuple_GET_ITEM(raw, i);
        Py_INCREF(a);
        PyTuple_SET_ITEM(pos, 2 + i, a);
    }
    PyObject *kw = NULL;
    if (with_params) {
        kw = PyDict_New();
        if (kw == NULL || PyDict_Merge(kw, params, 1) < 0) {
            if (kw != NULL && PyErr_ExceptionMatches(PyExc_AttributeError)) {
                /* As `rule(..., **params)`: no keys() is "not a mapping", a TypeError. */
                PyObject *et, *ev, *tb;
                PyErr_Fetch(&et, &ev, &tb);
                int has = PyObject_HasAttrString(params, "keys");
                if (has) {
                    PyErr_Restore(et, ev, tb);
                } else {
                    Py_XDECREF(et);
                    Py_XDECREF(ev);
                    Py_XDECREF(tb);
                    PyErr_Format(PyExc_TypeError,
                                 "%R argument after ** must be a mapping, not %.200s", rule,
                                 Py_TYPE(params)->tp_name);
                }
            }
            Py_XDECREF(kw);
            Py_DECREF(pos);
            return NULL;
        }
    }
    PyObject *r = PyObject_Call(rule, pos, kw);
    Py_XDECREF(kw);
    Py_DECREF(pos);
    return r;
}

/* The position among the node's operands of its parent k (backward._operand_position). */
static PyObject *position(PyObject *node, PyObject *args, Py_ssize_t k, PyObject *p)
{
    if (args == Py_None)
        return PyLong_FromSsize_t(k);
    if (k == 0 && PyTuple_Check(args) && PyTuple_GET_SIZE(args) > 0 &&
        PyTuple_GET_ITEM(args, 0) == p)
        return PyLong_FromLong(0); /* y * 1.0001: the Tensor comes first */
    PyObject *kk = PyLong_FromSsize_t(k);
    if (kk == NULL)
        return NULL;
    PyObject *r = PyObject_CallFunctionObjArgs(fn_position, node, kk, NULL);
    Py_DECREF(kk);
    return r;
}

/* vjps[pos], or op.vjp_rule(pos) past its end (a variadic primitive). New reference. */
static PyObject *rule_at(PyObject *op, PyObject *vjps, PyObject *pos)
{
    Py_ssize_t i = PyLong_AsSsize_t(pos);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (PyTuple_Check(vjps) && i >= 0 && i < PyTuple_GET_SIZE(vjps)) {
        PyObject *r = PyTuple_GET_ITEM(vjps, i);
        Py_INCREF(r);
        return r;
    }
    PyObject *r = PyObject_GetItem(vjps, pos);
    if (r != NULL || !PyErr_ExceptionMatches(PyExc_IndexError))
        return r;
    PyErr_Clear();
    return PyObject_CallMethodOneArg(op, s_vjp_rule, pos);
}

/* Release what a visited node saved: _raw, and (backward._release) its constant arrays. */
static int free_node(PyObject *node, PyObject *args)
{
    set(node, S_RAW, Py_None);
    if (args == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(args, "backward: a node's operands are not a sequence");
    if (seq == NULL)
        return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *a = PySequence_Fast_GET_ITEM(seq, i);
        if (a == Py_None)
            continue;
        int k = PyObject_IsInstance(a, kept);
        if (k < 0) {
            Py_DECREF(seq);
            return -1;
        }
        if (!k) {
            Py_DECREF(seq);
            PyObject *r = PyObject_CallOneArg(fn_release, node);
            if (r == NULL)
                return -1;
            Py_DECREF(r);
            return 0;
        }
    }
    Py_DECREF(seq);
    return 0;
}

/* The gradient of a float64 0-d leaf kept as the NumPy scalar: a new leaf Tensor (tensor._leaf). */
static int store_scalar(PyObject *leaf, PyObject *g)
{
    PyObject *t = tensor_type->tp_alloc(tensor_type, 0);
    if (t == NULL)
        return -1;
    PyObject *seq = PyIter_Next(seq_counter);
    if (seq == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "backward: the node counter ran out");
        Py_DECREF(t);
        return -1;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        Py_DECREF(seq);
        Py_DECREF(t);
        return -1;
    }
    set(t, S_DATA, g);
    set(t, S_REQ, Py_False);
    set(t, S_GRAD, Py_None);
    set(t, S_NAME, Py_None);
    set(t, S_OP, Py_None);
    set(t, S_PARENTS, empty);
    set(t, S_PARAMS, no_params);
    set(t, S_ARGS, Py_None);
    set(t, S_RAW, Py_None);
    set(t, S_RETAIN, zero_long);
    set(t, S_SEQ, seq);
    Py_DECREF(empty);
    Py_DECREF(seq);
    set(leaf, S_GRAD, t);
    Py_DECREF(t);
    return 0;
}

/* Store the collected leaf gradients (the end of backward._walk_fast without stop). */
static int store_leaves(PyObject *leaf_grads)
{
    PyObject *stored = PySet_New(NULL);
    if (stored == NULL)
        return -1;
    Py_ssize_t it = 0;
    PyObject *key, *pair;
    while (PyDict_Next(leaf_grads, &it, &key, &pair)) {
        PyObject *leaf = PyList_GET_ITEM(pair, 0), *g = PyList_GET_ITEM(pair, 1);
        Py_INCREF(leaf);
        Py_INCREF(g);
        int fast = 0;
        PyObject *d = SLOT(leaf, S_DATA), *grad = SLOT(leaf, S_GRAD);
        if (Py_IS_TYPE(g, f64_type) && d != NULL && grad == Py_None &&
            (Py_IS_TYPE(d, ndarray_type) || Py_IS_TYPE(d, f64_type))) {
            PyObject *dt = PyObject_GetAttr(d, s_dtype);
            if (dt == NULL)
                goto fail;
            fast = dt == float64_dtype;
            Py_DECREF(dt);
        }
        int rc;
        if (fast) {
            rc = store_scalar(leaf, g);
        } else {
            PyObject *r = PyObject_CallFunctionObjArgs(fn_accumulate, leaf, g, Py_False, stored, NULL);
            rc = r == NULL ? -1 : 0;
            Py_XDECREF(r);
        }
        Py_DECREF(leaf);
        Py_DECREF(g);
        if (rc < 0)
            goto done;
        continue;
    fail:
        Py_DECREF(leaf);
        Py_DECREF(g);
        goto done;
    }
    Py_DECREF(stored);
    return 0;
done:
    Py_DECREF(stored);
    return -1;
}

/* ---- the walk ------------------------------------------------------------------------------------ */

/* One visited node: its gradient handed to each parent. Returns 0, or -1 with an error set. */
static int visit(PyObject *node, PyObject *gnode, PyObject *op, int free_, PyObject *dec,
                 int has_stop, PyObject *pending, PyObject *leaf_grads, heap *h)
{
    int rc = -1;
    PyObject *raw = NULL, *args = NULL, *vjps = NULL, *params = NULL, *data = NULL,
             *parents = NULL;
    raw = get(node, S_RAW);
    if (raw == NULL)
        goto out;
    if (raw == Py_None) {
        PyObject *r = PyObject_CallOneArg(fn_freed, node); /* raises */
        Py_XDECREF(r);
        if (r != NULL)
            PyErr_SetString(PyExc_RuntimeError, "backward: the graph was freed");
        goto out;
    }
    if (!has_stop) {
        PyObject *retain = get(node, S_RETAIN);
        if (retain == NULL)
            goto out;
        int keep = PyObject_IsTrue(retain);
        Py_DECREF(retain);
        if (keep < 0)
            goto out;
        if (keep) {
            PyObject *fresh = PySet_New(NULL);
            if (fresh == NULL)
                goto out;
            PyObject *r =
                PyObject_CallFunctionObjArgs(fn_accumulate, node, gnode, Py_False, fresh, NULL);
            Py_DECREF(fresh);
            if (r == NULL)
                goto out;
            Py_DECREF(r);
        }
    }
    if ((args = get(node, S_ARGS)) == NULL || (vjps = PyObject_GetAttr(op, s_vjps)) == NULL ||
        (params = get(node, S_PARAMS)) == NULL || (data = get(node, S_DATA)) == NULL)
        goto out;
    PyObject *ps = get(node, S_PARENTS);
    if (ps == NULL)
        goto out;
    parents = PySequence_Fast(ps, "backward: a node's parents are not a sequence");
    Py_DECREF(ps);
    if (parents == NULL)
        goto out;
    int scalar = Py_IS_TYPE(data, f64_type) && Py_IS_TYPE(gnode, f64_type);
    if (scalar && (scalar = PySet_Contains(inline_ops, op)) < 0) /* a primitive of inline_ops */
        goto out;
    Py_ssize_t np_ = PySequence_Fast_GET_SIZE(parents);
    for (Py_ssize_t k = 0; k < np_; k++) {
        PyObject *p = PySequence_Fast_GET_ITEM(parents, k);
        if (!is_tensor(p))
            goto out;
        PyObject *req = SLOT(p, S_REQ), *pop = SLOT(p, S_OP);
        if (req == NULL || pop == NULL) {
            Py_XDECREF(get(p, req == NULL ? S_REQ : S_OP));
            goto out;
        }
        int wants = PyObject_IsTrue(req);
        if (wants < 0)
            goto out;
        if (!wants) {
            if (pop == Py_None && count_down(p, dec) < 0) /* a constant leaf */
                goto out;
            continue;
        }
        PyObject *pos = position(node, args, k, p);
        if (pos == NULL)
            goto out;
        PyObject *rule = rule_at(op, vjps, pos);
        if (rule == NULL) {
            Py_DECREF(pos);
            goto out;
        }
        PyObject *gk = NULL;
        if (scalar) {
            PyObject *kind = PyDict_GetItemWithError(inline_rules, rule);
            if (kind != NULL) {
                long kv = PyLong_AsLong(kind);
                if (!(kv == -1 && PyErr_Occurred()))
                    gk = inline_rule(kv, gnode, data, raw);
            }
            if (gk == NULL && PyErr_Occurred()) {
                Py_DECREF(rule);
                Py_DECREF(pos);
                goto out;
            }
        }
        if (gk == NULL) {
            if (rule == Py_None) {
                PyObject *r = PyObject_CallFunctionObjArgs(fn_no_rule, op, pos, NULL); /* raises */
                Py_XDECREF(r);
                if (r != NULL)
                    PyErr_SetString(PyExc_RuntimeError, "backward: no VJP rule");
                Py_DECREF(rule);
                Py_DECREF(pos);
                goto out;
            }
            gk = call_rule(rule, gnode, data, raw, params);
            if (gk != NULL)
                gk = fit_to_parent(gk, p);
        }
        Py_DECREF(rule);
        Py_DECREF(pos);
        if (gk == NULL)
            goto out;
        long long pk;
        if (key_of(p, &pk) < 0) {
            Py_DECREF(gk);
            goto out;
        }
        PyObject *pkey = PyLong_FromLongLong(pk);
        if (pkey == NULL) {
            Py_DECREF(gk);
            goto out;
        }
        int added;
        pop = SLOT(p, S_OP); /* a rule may have run code; read it again */
        if (pop == NULL) {
            Py_XDECREF(get(p, S_OP));
            added = -1;
        } else if (pop == Py_None) {
            /* Leaves need no visit of their own: collect their gradient, store it at the end. */
            added = count_down(p, dec) < 0 ? -1 : add_to(leaf_grads, pkey, p, gk);
        } else {
            added = add_to(pending, pkey, p, gk);
            if (added == 1 && heap_push(h, pk) < 0)
                added = -1;
        }
        Py_DECREF(pkey);
        Py_DECREF(gk);
        if (added < 0)
            goto out;
    }
    if (free_ && free_node(node, args) < 0)
        goto out;
    rc = 0;
out:
    Py_XDECREF(raw);
    Py_XDECREF(args);
    Py_XDECREF(vjps);
    Py_XDECREF(params);
    Py_XDECREF(data);
    Py_XDECREF(parents);
    return rc;
}

static int walking = 0; /* walks in progress (a rule may run a backward of its own) */

static PyObject *walk_impl(PyObject *self, PyObject *a);

static PyObject *py_walk(PyObject *self, PyObject *a)
{
    walking++;
    PyObject *r = walk_impl(self, a);
    walking--;
    return r;
}

static PyObject *walk_impl(PyObject *self, PyObject *a)
{
    PyObject *root, *g, *stop;
    int free_;
    long long event;
    if (!PyArg_ParseTuple(a, "OOpOL", &root, &g, &free_, &stop, &event))
        return NULL;
    if (tensor_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "_walk.setup() was not called");
        return NULL;
    }
    if (!is_tensor(root))
        return NULL;
    if (stop != Py_None && !PyDict_Check(stop)) {
        PyErr_SetString(PyExc_TypeError, "walk: stop must be a dict or None");
        return NULL;
    }
    int has_stop = stop != Py_None;
    heap h = {NULL, 0, 0};
    PyObject *pending = PyDict_New(), *leaf_grads = PyDict_New(), *found = PyDict_New();
    PyObject *dec = PyLong_FromLong(free_ ? 1 : 0), *settled = NULL;
    PyObject *result = NULL;
    long long key;
    if (pending == NULL || leaf_grads == NULL || found == NULL || dec == NULL)
        goto out;
    if (key_of(root, &key) < 0)
        goto out;
    {
        PyObject *k = PyLong_FromLongLong(key);
        if (k == NULL)
            goto out;
        int rc = add_to(pending, k, root, g);
        Py_DECREF(k);
        if (rc < 0 || heap_push(&h, key) < 0)
            goto out;
    }
    /* In-place changes: the nodes made before the latest one (keys above -event) are verified. */
    int has_marker = event >= 0, verifying = 0;
    long long marker = -event;
    if (has_marker && heap_push(&h, marker) < 0)
        goto out;
    unsigned long pops = 0;
    while (h.n) {
        /* Ctrl-C: the interpreter checks for signals between bytecodes; this loop runs none. */
        if ((++pops & 4095) == 0 && PyErr_CheckSignals() < 0)
            goto out;
        key = heap_pop(&h);
        if (has_marker && key == marker) {
            verifying = 1;
            settled = PySet_New(NULL);
            if (settled == NULL)
                goto out;
            continue;
        }
        PyObject *k = PyLong_FromLongLong(key);
        if (k == NULL)
            goto out;
        PyObject *entry = PyDict_GetItemWithError(pending, k);
        if (entry == NULL) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "backward: a queued node went missing");
            Py_DECREF(k);
            goto out;
        }
        PyObject *node = PyList_GET_ITEM(entry, 0), *gnode = PyList_GET_ITEM(entry, 1);
        Py_INCREF(node);
        Py_INCREF(gnode);
        int rc = PyDict_DelItem(pending, k);
        PyObject *op = NULL;
        if (rc < 0)
            goto step_done;
        rc = -1;
        if (has_stop) {
            int in = PyDict_Contains(stop, k);
            if (in < 0)
                goto step_done;
            if (in) {
                rc = PyDict_SetItem(found, k, gnode);
                goto step_done;
            }
        }
        if ((op = get(node, S_OP)) == NULL)
            goto step_done;
        if (verifying && op != Py_None) {
            PyObject *raw = SLOT(node, S_RAW);
            if (raw == NULL) {
                Py_XDECREF(get(node, S_RAW));
                goto step_done;
            }
            if (raw != Py_None) {
                PyObject *seq = PyLong_FromLongLong(-key);
                PyObject *r = seq == NULL ? NULL
                                          : PyObject_CallFunctionObjArgs(fn_verify, node, seq,
                                                                         settled, NULL);
                Py_XDECREF(seq);
                if (r == NULL)
                    goto step_done;
                Py_DECREF(r);
            }
        }
        if (op == Py_None) /* only the root can be a leaf here */
            rc = add_to(leaf_grads, k, node, gnode) < 0 ? -1 : 0;
        else
            rc = visit(node, gnode, op, free_, dec, has_stop, pending, leaf_grads, &h);
    step_done:
        Py_XDECREF(op);
        Py_DECREF(node);
        Py_DECREF(gnode);
        Py_DECREF(k);
        if (rc < 0)
            goto out;
    }
    if (has_stop) {
        Py_ssize_t it = 0;
        PyObject *lk, *pair;
        while (PyDict_Next(leaf_grads, &it, &lk, &pair)) {
            int in = PyDict_Contains(stop, lk);
            if (in < 0 || (in && PyDict_SetItem(found, lk, PyList_GET_ITEM(pair, 1)) < 0))
                goto out;
        }
    } else if (store_leaves(leaf_grads) < 0) {
        goto out;
    }
    result = found;
    found = NULL;
out:
    PyMem_Free(h.a);
    Py_XDECREF(pending);
    Py_XDECREF(leaf_grads);
    Py_XDECREF(found);
    Py_XDECREF(dec);
    Py_XDECREF(settled);
    return result;
}

/* ---- setup ---------------------------------------------------------------------------------------- */

static int take_type(PyObject *o, PyTypeObject **dst, const char *what)
{
    if (!PyType_Check(o)) {
        PyErr_Format(PyExc_TypeError, "setup: %s must be a type", what);
        return -1;
    }
    Py_INCREF(o);
    Py_XSETREF(*dst, (PyTypeObject *)o);
    return 0;
}

static void take(PyObject *o, PyObject **dst)
{
    Py_INCREF(o);
    Py_XSETREF(*dst, o);
}

static PyObject *py_setup(PyObject *self, PyObject *a)
{
    PyObject *tt, *ft, *nt, *dt, *rules, *kp, *counter, *np_, *verify, *pos, *unb, *acc, *rel,
        *freed, *norule, *ops;
    if (!PyArg_ParseTuple(a, "OOOOO!O!OO!OOOOOOOO!", &tt, &ft, &nt, &dt, &PyDict_Type, &rules,
                          &PyTuple_Type, &kp, &counter, &PyDict_Type, &np_, &verify, &pos, &unb,
                          &acc, &rel, &freed, &norule, &PyFrozenSet_Type, &ops))
        return NULL;
    if (walking) {
        PyErr_SetString(PyExc_RuntimeError, "setup: not while a walk is running");
        return NULL;
    }
    if (!PyType_Check(tt) || !PyType_Check(ft) || !PyType_Check(nt)) {
        PyErr_SetString(PyExc_TypeError,
                        "setup: the Tensor class, numpy.float64 and numpy.ndarray must be types");
        return NULL;
    }
    {
        Py_ssize_t it = 0;
        PyObject *rk, *kind;
        while (PyDict_Next(rules, &it, &rk, &kind)) {
            long kv = PyLong_Check(kind) ? PyLong_AsLong(kind) : -1;
            if (kv < K_PASS || kv > K_TANH) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "setup: the inline kind of %R is %R, not 0..3", rk,
                             kind);
                return NULL;
            }
        }
    }
    Py_ssize_t offs[NSLOTS];
    PyObject *tdict = ((PyTypeObject *)tt)->tp_dict;
    for (int i = 0; i < NSLOTS; i++) {
        PyObject *d = PyDict_GetItemString(tdict, slot_names[i]);
        if (d == NULL || !Py_IS_TYPE(d, &PyMemberDescr_Type) ||
            ((PyMemberDescrObject *)d)->d_member->type != T_OBJECT_EX) {
            PyErr_Format(PyExc_TypeError, "setup: Tensor.%s is not a slot", slot_names[i]);
            return NULL;
        }
        offs[i] = ((PyMemberDescrObject *)d)->d_member->offset;
    }
    if (take_type(tt, &tensor_type, "the Tensor class") < 0 ||
        take_type(ft, &f64_type, "numpy.float64") < 0 ||
        take_type(nt, &ndarray_type, "numpy.ndarray") < 0)
        return NULL;
    memcpy(offsets, offs, sizeof offs);
    take(dt, &float64_dtype);
    take(rules, &inline_rules);
    take(ops, &inline_ops);
    take(kp, &kept);
    take(counter, &seq_counter);
    take(np_, &no_params);
    take(verify, &fn_verify);
    take(pos, &fn_position);
    take(unb, &fn_unbroadcast);
    take(acc, &fn_accumulate);
    take(rel, &fn_release);
    take(freed, &fn_freed);
    take(norule, &fn_no_rule);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"walk", py_walk, METH_VARARGS,
     "walk(root, g, free, stop, event) -> dict: backward._walk_fast in C (see there)."},
    {"setup", py_setup, METH_VARARGS, "Hand over the classes, the inline rules and the helpers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__walk(void)
{
    one_float = PyFloat_FromDouble(1.0);
    zero_long = PyLong_FromLong(0);
    s_vjps = PyUnicode_InternFromString("vjps");
    s_vjp_rule = PyUnicode_InternFromString("vjp_rule");
    s_dtype = PyUnicode_InternFromString("dtype");
    s_item = PyUnicode_InternFromString("item");
    s_shape = PyUnicode_InternFromString("shape");
    if (!one_float || !zero_long || !s_vjps || !s_vjp_rule || !s_dtype || !s_item || !s_shape)
        return NULL;
    return PyModule_Create(&module);
}
