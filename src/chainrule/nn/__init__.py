"""Neural-network building blocks on :mod:`chainrule.autodiff`.

- :mod:`~chainrule.nn.module`: :class:`Module` (parameters by attribute assignment, state dicts);
- :mod:`~chainrule.nn.layers`: :class:`Linear`, :class:`MLP`, :class:`Sequential`, activations,
  :class:`Dropout`;
- :mod:`~chainrule.nn.dag`: :class:`DAGNetwork`, single neurons on a DAG (the seed's Q4 network);
- :mod:`~chainrule.nn.losses`: :func:`mse_loss`, :func:`binary_cross_entropy_with_logits`,
  :func:`cross_entropy`;
- :mod:`~chainrule.nn.optim`: :class:`SGD`, :class:`Adam`, :class:`AdamW`, :func:`clip_grad_norm`;
- :mod:`~chainrule.nn.train`: :func:`fit` and its :class:`History`;
- :mod:`~chainrule.nn.io`: :func:`save` / :func:`load` (``.npz`` + JSON metadata, no pickle).
"""

from chainrule.nn.dag import DAGNetwork
from chainrule.nn.io import load, save
from chainrule.nn.layers import (
    MLP,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    ReLU,
    Sequential,
    Sigmoid,
    Softplus,
    Tanh,
)
from chainrule.nn.losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss
from chainrule.nn.module import Module, parameter
from chainrule.nn.optim import SGD, Adam, AdamW, Optimizer, clip_grad_norm
from chainrule.nn.train import History, fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "DAGNetwork",
    "Dropout",
    "History",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "binary_cross_entropy_with_logits",
    "clip_grad_norm",
    "cross_entropy",
    "fit",
    "load",
    "mse_loss",
    "parameter",
    "save",
]
