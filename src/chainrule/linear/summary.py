"""Inference for a fitted logistic regression: standard errors, z and p values, confidence intervals.

The covariance of the estimates is the inverse of the observed information, the Hessian of the negative
log-likelihood L(θ) = Σ_i s_i ℓ_i at the fit (sample weights act as frequency weights):

- binary: θ = (b, w), H = X̃ᵀ diag(s p (1 − p)) X̃ with X̃ = [1, X];
- multinomial: coefficients are reported against the first class as reference (β_k − β_0 for
  k = 1..K−1, as statsmodels' MNLogit does); their Hessian is the block of the full Hessian for classes
  1..K−1, since the likelihood depends on differences only.

For a penalized binary fit the table uses the Hessian of L + ½‖w‖²/C (a Laplace approximation of the
posterior under a Gaussian prior) and says so: those are not maximum-likelihood standard errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.linalg
import scipy.special

from chainrule.linear.datasets import check_Xy, plain
from chainrule.linear.logistic_objective import LogisticObjective, make_objective

if TYPE_CHECKING:
    from chainrule.linear.logistic import LogisticRegression

__all__ = ["LogisticSummary", "logistic_summary"]


@dataclass
class LogisticSummary:
    """The coefficient table and fit statistics; ``str()`` gives a statsmodels-like text table.

    Attributes (one entry per table row):
        names: "const" or the feature name, prefixed by the class for multinomial fits.
        coef, std_err, z, p_values, ci_low, ci_high: float64 arrays of the same length.
        n_obs: number of samples (sum of weights when weighted). log_likelihood, null_log_likelihood:
        at the fit and for the intercept-only model. pseudo_r2: McFadden's 1 − LL/LL0.
        covariance: the full covariance matrix, in row order.
    """

    names: list[str]
    coef: np.ndarray
    std_err: np.ndarray
    z: np.ndarray
    p_values: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    covariance: np.ndarray
    n_obs: float
    log_likelihood: float
    null_log_likelihood: float
    title: str
    notes: list[str] = field(default_factory=list)
    alpha: float = 0.05
    info: dict[str, str] = field(default_factory=dict)

    @property
    def pseudo_r2(self) -> float:
        """McFadden's pseudo R²: 1 − LL / LL0."""
        if self.null_log_likelihood == 0.0:
            return float("nan")
        return 1.0 - self.log_likelihood / self.null_log_likelihood

    @property
    def text(self) -> str:
        """The table as text."""
        width = max([12, *(len(n) for n in self.names)]) + 2
        rule = "=" * (width + 66)
        thin = "-" * (width + 66)
        lo, hi = self.alpha / 2, 1 - self.alpha / 2
        stats = {
            "No. observations": f"{self.n_obs:g}",
            "Log-likelihood": f"{self.log_likelihood:.6g}",
            "LL-null": f"{self.null_log_likelihood:.6g}",
            "Pseudo R² (McFadden)": f"{self.pseudo_r2:.4f}",
            **self.info,
        }
        items = [f"{k}: {v}" for k, v in stats.items()]
        lines = [self.title, rule]
        for i in range(0, len(items), 2):
            lines.append("  ".join(f"{item:<40}" for item in items[i : i + 2]).rstrip())
        lines.append(thin)
        lines.append(
            f"{'':<{width}}{'coef':>11}{'std err':>11}{'z':>9}{'P>|z|':>9}"
            f"{f'[{lo:.3g}':>13}{f'{hi:.3g}]':>13}"
        )
        lines.append(thin)
        for i, name in enumerate(self.names):
            lines.append(
                f"{name:<{width}}{self.coef[i]:>11.4f}{self.std_err[i]:>11.4f}{self.z[i]:>9.3f}"
                f"{self.p_values[i]:>9.3f}{self.ci_low[i]:>13.4f}{self.ci_high[i]:>13.4f}"
            )
        lines.append(rule)
        lines.extend(f"Note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python rows: {name: {coef, std_err, z, p_value, ci_low, ci_high}}."""
        return {
            name: {
                "coef": float(self.coef[i]),
                "std_err": float(self.std_err[i]),
                "z": float(self.z[i]),
                "p_value": float(self.p_values[i]),
                "ci_low": float(self.ci_low[i]),
                "ci_high": float(self.ci_high[i]),
            }
            for i, name in enumerate(self.names)
        }


def objective_for(
    model: LogisticRegression, X: Any, y: Any, sample_weight: Any
) -> LogisticObjective:
    """The fitted model's objective on its training data, or on the data passed in."""
    if X is None and y is None:
        obj = getattr(model, "_objective", None)
        if obj is None:
            raise ValueError(
                "summary() needs the training data: this model keeps none (it was loaded from a file); "
                "call summary(X, y) with the data it was fitted on"
            )
        return obj
    if X is None or y is None:
        raise ValueError("summary(X, y): pass both X and y, or neither (to use the training data)")
    Xa, ya = check_Xy(X, y)
    index = np.searchsorted(model.classes_, ya)
    index = np.clip(index, 0, len(model.classes_) - 1)
    if not np.all(model.classes_[index] == ya):
        raise ValueError("y holds labels that are not among the model's classes_")
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    C = float("inf") if model.penalty in (None, "none") else float(model.C)
    return make_objective(Xa, index, len(model.classes_), sw, C, bool(model.fit_intercept))


def theta_of(model: LogisticRegression, obj: LogisticObjective) -> np.ndarray:
    """The fitted coefficients as the objective's flat float64 parameter vector ``θ`` (shape ``(size,)``).

    For the model's own training objective, the solver's float64 solution kept by ``fit`` (``coef_``
    may have been rounded to float32); else built from ``coef_`` and ``intercept_``.
    """
    kept = getattr(model, "_theta", None)
    if kept is not None and obj is getattr(model, "_objective", None) and kept.size == obj.size:
        return np.asarray(kept, dtype=np.float64)
    return _theta_from_coef(model, obj)


def _theta_from_coef(model: LogisticRegression, obj: LogisticObjective) -> np.ndarray:
    if obj.binary:
        parts = [np.asarray(model.coef_, dtype=np.float64).ravel()]
        if obj.fit_intercept:
            parts.append(np.asarray(model.intercept_, dtype=np.float64).ravel())
        return np.concatenate(parts)
    M = np.asarray(model.coef_, dtype=np.float64)
    if obj.fit_intercept:
        M = np.column_stack([M, np.asarray(model.intercept_, dtype=np.float64)])
    return np.ascontiguousarray(M).ravel()


def _null_log_likelihood(obj: LogisticObjective) -> float:
    """Log-likelihood of the intercept-only model: Σ_i s_i log p̂(y_i), p̂ the weighted class shares."""
    sw = np.ones(obj.n_samples) if obj.sample_weight is None else obj.sample_weight
    index = obj.y.astype(np.intp)
    shares = np.bincount(index, weights=sw, minlength=obj.n_classes) / sw.sum()
    with np.errstate(divide="ignore"):
        logs = np.log(shares)
    return float(sw @ logs[index])


def _feature_labels(model: LogisticRegression, d: int, feature_names: Any) -> list[str]:
    """The row labels of the features: ``feature_names``, ``feature_names_in_`` or ``x1..xd``."""
    if feature_names is None:
        names_in = getattr(model, "feature_names_in_", None)
        if names_in is None:
            return [f"x{j + 1}" for j in range(d)]
        return [str(n) for n in names_in]
    if isinstance(feature_names, (str, bytes)):
        raise TypeError(
            f"feature_names must be a sequence of {d} names, not the single string {feature_names!r}"
        )
    names = [str(n) for n in feature_names]
    if len(names) != d:
        raise ValueError(
            f"feature_names has {len(names)} names but the model has {d} features "
            f"(n_features_in_ = {d})"
        )
    return names


def logistic_summary(
    model: LogisticRegression,
    X: Any = None,
    y: Any = None,
    sample_weight: Any = None,
    alpha: float = 0.05,
    feature_names: Any = None,
) -> LogisticSummary:
    """The coefficient table of a fitted :class:`LogisticRegression` (see the module docstring).

    ``feature_names`` (one string per feature) names the rows; by default the model's
    ``feature_names_in_``, else ``x1, x2, ...``.

    Raises:
        ValueError: no data to compute the information from; ``feature_names`` of the wrong length;
            a penalized multinomial fit (its intercepts are not identified by the penalty); a
            singular information matrix (collinear features or separated classes), naming the remedy.
        TypeError: ``feature_names`` is a single string.
    """
    obj = objective_for(model, X, y, sample_weight)
    features = _feature_labels(model, obj.n_features, feature_names)
    theta = theta_of(model, obj)
    penalized = obj.alpha > 0.0
    if penalized and not obj.binary:
        raise ValueError(
            "summary() of a penalized multinomial fit is not available: refit with penalty=None"
        )
    if getattr(model, "separated_", None) is not None:
        raise ValueError(
            "summary(): the classes are separable, so the maximum-likelihood estimate does not exist "
            "and its standard errors are infinite; use a penalized fit or fewer features"
        )
    f, _, hess_scaled = obj.loss_grad_hess(theta)
    S = obj.weight_sum
    hess = hess_scaled * S  # Hessian of L(θ) (+ ½‖w‖²/C when penalized)
    log_likelihood = -(f - obj._penalty(theta)) * S
    # Reorder each class block to (const, features...) for the table.
    m = obj.n_coef_cols
    block_order = ([m - 1] if obj.fit_intercept else []) + list(range(obj.n_features))
    block_names = (["const"] if obj.fit_intercept else []) + features
    if obj.binary:
        order = np.array(block_order)
        names = block_names
        estimates = theta[order]
        sub = hess[np.ix_(order, order)]
        title = f"Logistic regression: P(y = {plain(model.classes_[1])!r} | x) = s(const + x·w)"
    else:
        K = obj.n_classes
        order = np.array([k * m + j for k in range(1, K) for j in block_order])
        names = [f"{plain(model.classes_[k])}: {n}" for k in range(1, K) for n in block_names]
        M = theta.reshape(K, m)
        estimates = (M[1:] - M[0])[:, block_order].ravel()
        sub = hess[np.ix_(order, order)]
        title = (
            f"Multinomial logistic regression (reference class {plain(model.classes_[0])!r}: "
            "coefficients are differences from it)"
        )
    try:
        factor = scipy.linalg.cho_factor(sub, lower=True)
        covariance = scipy.linalg.cho_solve(factor, np.eye(sub.shape[0]))
    except np.linalg.LinAlgError as exc:
        raise ValueError(
            "summary(): the information matrix is singular (collinear features, a constant feature "
            "besides the intercept, or separated classes); remove redundant features"
        ) from exc
    std_err = np.sqrt(np.diag(covariance))
    z = estimates / std_err
    p = 2.0 * scipy.special.ndtr(-np.abs(z))
    q = float(scipy.special.ndtri(1.0 - alpha / 2.0))
    notes: list[str] = []
    if penalized:
        notes.append(
            f"penalized fit (C = {model.C:g}): standard errors from the Hessian of the penalized "
            "objective (a Laplace approximation); refit with penalty=None for maximum-likelihood "
            "inference."
        )
    else:
        notes.append("standard errors from the observed information (inverse Hessian) at the MLE.")
    if not getattr(model, "converged_", True):
        notes.append("the fit did not converge: these numbers are not at the optimum.")
    info = {
        "Solver": str(getattr(model, "solver_", model.solver)),
        "Iterations": str(int(model.n_iter_[0])),
        "Penalty": "none" if not penalized else f"L2, C = {model.C:g}",
        "Converged": "yes" if getattr(model, "converged_", True) else "no",
    }
    return LogisticSummary(
        names=names,
        coef=estimates,
        std_err=std_err,
        z=z,
        p_values=p,
        ci_low=estimates - q * std_err,
        ci_high=estimates + q * std_err,
        covariance=covariance,
        n_obs=S,
        log_likelihood=log_likelihood,
        null_log_likelihood=_null_log_likelihood(obj),
        title=title,
        notes=notes,
        alpha=alpha,
        info=info,
    )
