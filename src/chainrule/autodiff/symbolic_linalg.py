"""The symbolic forms of the primitives of :mod:`~chainrule.autodiff.linalg` and
:mod:`~chainrule.autodiff.reductions_more`: how each prints and how its VJP reads, for ``cr.explain``.

:data:`RULE_PARTS` maps each primitive's name to ``(form, vjp, broadcasts)``, the three fields of a
:class:`~chainrule.autodiff.symbolic_rules.SymbolicRule` (that module builds the rules and attaches
them with the other built-in rules). A form prints as the NumPy call (``solve(A, b)``,
``std(x, axis=0, ddof=1)``, ``norm(x, ord=2)``); a VJP prints as its formula in the operands, the
output and the cotangent (``−solve(Aᵀ, ∂L/∂x) · xᵀ``, ``∂L/∂d · d · A⁻ᵀ``), and evaluates with the
primitive's own numeric rule, so a printed derivation is numerically the backward pass. (``dot``,
``tensordot``, ``inner`` and ``outer`` are einsums and print as such.)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from chainrule.autodiff import linalg as LA
from chainrule.autodiff import reductions_more as R
from chainrule.autodiff import symbolic_ops as O
from chainrule.autodiff.symbolic import PREC_MUL, PREC_POW, Expr, Op, OpSpec, Shape, neg

__all__ = ["RULE_PARTS", "RuleParts"]

#: ``(form(operands, params) -> Expr, vjp(ctx, k) -> Expr | None, broadcasts)``; ``ctx`` is a
#: :class:`~chainrule.autodiff.symbolic_rules.VjpContext`.
RuleParts = tuple[
    Callable[[Sequence[Expr], Mapping[str, Any]], Expr], Callable[[Any, int], "Expr | None"], bool
]

#: ``template(g, out, operands, params) -> str``: a VJP's printed formula from rendered pieces.
Template = Callable[[str, str, Sequence[str], Mapping[str, Any]], str]


# --- shapes of the forms ---------------------------------------------------------------------------


def _batch(*shapes: Shape) -> Shape:
    return tuple(np.broadcast_shapes(*shapes))


def _solve_shape(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    a, b = s
    if a is None or b is None:
        return None
    if len(b) == 1:
        return (*a[:-1],)
    return (*_batch(a[:-2], b[:-2]), *b[-2:])


def _same(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    return s[0]


def _batch_only(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    return None if s[0] is None else s[0][:-2]


def _eigh_shape(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    a = s[0]
    return None if a is None else (*a[:-2], a[-1] + 1, a[-1])


def _svd_shape(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    a = s[0]
    if a is None:
        return None
    m, n, k, cu, rv = LA._svd_sizes(a, bool(p.get("full_matrices")))
    return (*a[:-2], m * cu + k + rv * n)


def _reduced(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    a = s[0]
    if a is None:
        return None
    axes = O._norm_axes(p.get("axis"), len(a))
    if p.get("keepdims"):
        return tuple(1 if i in axes else d for i, d in enumerate(a))
    return tuple(d for i, d in enumerate(a) if i not in axes)


def _flat_or_same(s: list[Shape | None], p: Mapping[str, Any]) -> Shape | None:
    a = s[0]
    if a is None:
        return None
    return (math.prod(a),) if p.get("axis") is None else a


# --- forms -----------------------------------------------------------------------------------------


def _form(
    name: str,
    forward: Callable[..., Any],
    shape: Callable[[list[Shape | None], Mapping[str, Any]], Shape | None],
    keys: tuple[str, ...] = (),
    shown: tuple[str, ...] | None = None,
) -> Callable[[Sequence[Expr], Mapping[str, Any]], Expr]:
    """The form ``name(operands, key=value...)``, evaluated with the primitive's forward function
    (``shown``: the keys printed, default all)."""
    spec = O.simple_op(
        name,
        lambda v, p: forward(*v, **{k: p[k] for k in keys if k in p}),
        shape,
        keys if shown is None else shown,
    )
    return lambda ops, p: Op(spec, tuple(ops), {k: p[k] for k in keys if k in p})


# --- VJPs: a printed formula, the primitive's numeric rule -----------------------------------------


def _sum_back(res: np.ndarray, target: Shape) -> np.ndarray:
    """A rule's result (possibly of a broadcast shape) summed back to the operand's shape."""
    res = np.asarray(res)
    if res.shape == tuple(target):
        return res
    lead = res.ndim - len(target)
    if lead > 0:
        res = res.sum(axis=tuple(range(lead)))
    keep = tuple(i for i, d in enumerate(target) if d == 1 and res.shape[i] != 1)
    return res.sum(axis=keep, keepdims=True) if keep else res


def _vjp(
    prim_name: str,
    rules: Sequence[Callable[..., Any] | None],
    text: Sequence[Template | None],
    latex: Sequence[Template | None],
    negate: Sequence[bool] = (),
) -> Callable[[Any, int], Expr | None]:
    """The symbolic VJP of a primitive: operand ``k`` prints with ``text[k]``/``latex[k]`` (the
    whole wrapped in a minus when ``negate[k]``) and evaluates with ``rules[k]``."""

    def spec_for(k: int) -> OpSpec:
        rule, tx, lx = rules[k], text[k], latex[k]
        assert rule is not None and tx is not None and lx is not None

        def numeric(v: list[np.ndarray], p: Mapping[str, Any]) -> Any:
            g, ans, *ops = v
            res = rule(g, ans, *ops, **dict(p["params"]))
            res = -np.asarray(res) if p["negate"] else res
            return _sum_back(np.asarray(res), tuple(p["shape"]))

        return OpSpec(
            f"vjp:{prim_name}:{k}",
            numeric,
            lambda a, p: tx(a[0], a[1], a[2:], p["params"]),
            lambda a, p: lx(a[0], a[1], a[2:], p["params"]),
            lambda s, p: tuple(p["shape"]),
            prec=PREC_MUL,
            arg_prec=PREC_POW,
        )

    specs = [spec_for(k) if rules[k] is not None else None for k in range(len(rules))]

    def vjp(ctx: Any, k: int) -> Expr | None:
        spec = specs[k] if k < len(specs) else None
        if spec is None:
            return None
        minus = bool(negate[k]) if k < len(negate) else False
        params = {"params": dict(ctx.params), "shape": tuple(ctx.shapes[k]), "negate": minus}
        e: Expr = Op(spec, (ctx.g, ctx.out, *ctx.operands), params)
        return neg(e) if minus else e

    return vjp


def _kw(p: Mapping[str, Any], *keys: str) -> str:
    parts = [f"{k}={p[k]!r}" for k in keys if p.get(k) not in (None, False)]
    return (", " + ", ".join(parts)) if parts else ""


def _t(f: Callable[[str, str, Sequence[str], Mapping[str, Any]], str]) -> Template:
    return f


# For the negated VJPs, the numeric rule returns the gradient itself; the printed minus is outside
# and the numeric part is negated back (``negate``), so the value of neg(op) is the rule's result.

_SOLVE = _vjp(
    "solve",
    (LA.solve_vjp_a, LA.solve_vjp_b),
    (
        _t(lambda g, out, o, p: f"solve({o[0]}ᵀ, {g}) · {out}ᵀ"),
        _t(lambda g, out, o, p: f"solve({o[0]}ᵀ, {g})"),
    ),
    (
        _t(lambda g, out, o, p: f"{o[0]}^{{-\\top}} {g} \\, {out}^{{\\top}}"),
        _t(lambda g, out, o, p: f"{o[0]}^{{-\\top}} {g}"),
    ),
    (True, False),
)

_SOLVE_TRIANGULAR = _vjp(
    "solve_triangular",
    (LA.solve_triangular_vjp_a, LA.solve_triangular_vjp_b),
    (
        _t(
            lambda g, out, o, p: (
                f"{'tril' if p.get('lower') else 'triu'}(solve_triangular({o[0]}ᵀ, {g}) · {out}ᵀ)"
            )
        ),
        _t(lambda g, out, o, p: f"solve_triangular({o[0]}ᵀ, {g}{_kw(p, 'lower')})"),
    ),
    (
        _t(
            lambda g, out, o, p: (
                f"\\operatorname{{{'tril' if p.get('lower') else 'triu'}}}"
                f"\\left({o[0]}^{{-\\top}} {g} \\, {out}^{{\\top}}\\right)"
            )
        ),
        _t(lambda g, out, o, p: f"{o[0]}^{{-\\top}} {g}"),
    ),
    (True, False),
)

_INV = _vjp(
    "inv",
    (LA.inv_vjp,),
    (_t(lambda g, out, o, p: f"{out}ᵀ · {g} · {out}ᵀ"),),
    (_t(lambda g, out, o, p: f"{out}^{{\\top}} {g} \\, {out}^{{\\top}}"),),
    (True,),
)

_DET = _vjp(
    "det",
    (LA.det_vjp,),
    (_t(lambda g, out, o, p: f"{g} · {out} · {o[0]}⁻ᵀ"),),
    (_t(lambda g, out, o, p: f"{g} \\, {out} \\, {o[0]}^{{-\\top}}"),),
)

_SLOGDET = _vjp(
    "slogdet",
    (LA.slogdet_vjp,),
    (_t(lambda g, out, o, p: f"{g} · {o[0]}⁻ᵀ"),),
    (_t(lambda g, out, o, p: f"{g} \\, {o[0]}^{{-\\top}}"),),
)

_CHOLESKY = _vjp(
    "cholesky",
    (LA.cholesky_vjp,),
    (_t(lambda g, out, o, p: f"tri(sym({out}⁻ᵀ Φ({out}ᵀ {g}) {out}⁻¹))"),),
    (
        _t(
            lambda g, out, o, p: (
                f"\\operatorname{{tri}}\\left(\\operatorname{{sym}}\\left({out}^{{-\\top}} "
                f"\\Phi\\left({out}^{{\\top}} {g}\\right) {out}^{{-1}}\\right)\\right)"
            )
        ),
    ),
)

_EIGH = _vjp(
    "eigh",
    (LA.eigh_vjp,),
    (_t(lambda g, out, o, p: f"V (diag(w̄) + F ⊙ Vᵀ V̄) Vᵀ [w, V = {out}; w̄, V̄ = {g}]"),),
    (
        _t(
            lambda g, out, o, p: (
                f"V \\left(\\operatorname{{diag}}(\\bar w) + F \\odot V^{{\\top}} \\bar V\\right) "
                f"V^{{\\top}} \\quad [w, V = {out};\\ \\bar w, \\bar V = {g}]"
            )
        ),
    ),
)

_SVD = _vjp(
    "svd",
    (LA.svd_vjp,),
    (_t(lambda g, out, o, p: f"svd_vjp({g}; {out})"),),
    (_t(lambda g, out, o, p: f"\\operatorname{{svd\\_vjp}}\\left({g}; {out}\\right)"),),
)


def _norm_text(g: str, out: str, o: Sequence[str], p: Mapping[str, Any]) -> str:
    x, q = o[0], p.get("ord", 2.0)
    if q == 2.0:
        return f"{g} · {x} / {out}"
    if q == 1.0:
        return f"{g} · sign({x})"
    return f"{g} · sign({x}) (|{x}| / {out})^{q - 1:g}"


def _norm_latex(g: str, out: str, o: Sequence[str], p: Mapping[str, Any]) -> str:
    x, q = o[0], p.get("ord", 2.0)
    if q == 2.0:
        return f"{g} \\, \\frac{{{x}}}{{{out}}}"
    if q == 1.0:
        return f"{g} \\, \\operatorname{{sign}}({x})"
    return (
        f"{g} \\, \\operatorname{{sign}}({x}) \\left(\\frac{{|{x}|}}{{{out}}}\\right)^{{{q - 1:g}}}"
    )


_NORM = _vjp("vector_norm", (LA.vector_norm_vjp,), (_norm_text,), (_norm_latex,))


def _dof(p: Mapping[str, Any]) -> str:
    return f"(n − {p['ddof']!r})" if p.get("ddof") else "n"


_VAR = _vjp(
    "var",
    (R.var_vjp,),
    (_t(lambda g, out, o, p: f"{g} · 2 ({o[0]} − mean({o[0]})) / {_dof(p)}"),),
    (
        _t(
            lambda g, out, o, p: (
                f"{g} \\, \\frac{{2 \\left({o[0]} - \\bar{{{o[0]}}}\\right)}}{{{_dof(p).replace('−', '-')}}}"
            )
        ),
    ),
)

_STD = _vjp(
    "std",
    (R.std_vjp,),
    (_t(lambda g, out, o, p: f"{g} · ({o[0]} − mean({o[0]})) / ({_dof(p)} · {out})"),),
    (
        _t(
            lambda g, out, o, p: (
                f"{g} \\, \\frac{{{o[0]} - \\bar{{{o[0]}}}}}{{{_dof(p).replace('−', '-')} \\, {out}}}"
            )
        ),
    ),
)

_CUMSUM = _vjp(
    "cumsum",
    (R.cumsum_vjp,),
    (_t(lambda g, out, o, p: f"flip(cumsum(flip({g}){_kw(p, 'axis')}))"),),
    (
        _t(
            lambda g, out, o, p: (
                f"\\operatorname{{flip}}\\left(\\operatorname{{cumsum}}\\left("
                f"\\operatorname{{flip}}\\left({g}\\right)\\right)\\right)"
            )
        ),
    ),
)

_SORT = _vjp(
    "sort",
    (R.sort_vjp,),
    (_t(lambda g, out, o, p: f"unsort({g}; argsort({o[0]}{_kw(p, 'axis')}))"),),
    (
        _t(
            lambda g, out, o, p: (
                f"\\operatorname{{unsort}}\\left({g};\\ \\operatorname{{argsort}}({o[0]})\\right)"
            )
        ),
    ),
)


#: Each primitive's ``(form, vjp, broadcasts)``.
RULE_PARTS: dict[str, RuleParts] = {
    "solve": (_form("solve", LA.solve_forward, _solve_shape), _SOLVE, False),
    "solve_triangular": (
        _form("solve_triangular", LA.solve_triangular_forward, _solve_shape, ("lower",)),
        _SOLVE_TRIANGULAR,
        False,
    ),
    "inv": (_form("inv", LA.inv_forward, _same), _INV, False),
    "det": (_form("det", LA.det_forward, _batch_only), _DET, False),
    "slogdet": (_form("logabsdet", LA.slogdet_forward, _batch_only), _SLOGDET, False),
    "cholesky": (_form("cholesky", LA.cholesky_forward, _same, ("upper",)), _CHOLESKY, False),
    "eigh": (_form("eigh", LA.eigh_forward, _eigh_shape, ("UPLO",), ()), _EIGH, False),
    "svd": (
        _form("svd", LA.svd_forward, _svd_shape, ("full_matrices",)),
        _SVD,
        False,
    ),
    "vector_norm": (
        _form("norm", LA.vector_norm_forward, _reduced, ("ord", "axis", "keepdims")),
        _NORM,
        False,
    ),
    "var": (_form("var", R.var_forward, _reduced, ("axis", "ddof", "keepdims")), _VAR, False),
    "std": (_form("std", R.std_forward, _reduced, ("axis", "ddof", "keepdims")), _STD, False),
    "cumsum": (_form("cumsum", R.cumsum_forward, _flat_or_same, ("axis",)), _CUMSUM, False),
    "sort": (_form("sort", R.sort_forward, _flat_or_same, ("axis",)), _SORT, False),
}
