"""Neural-network building blocks on :mod:`chainrule.autodiff`.

- :mod:`~chainrule.nn.module`: :class:`Module` (parameters by attribute assignment, state dicts);
- :mod:`~chainrule.nn.layers`: :class:`Linear`, :class:`MLP`, :class:`Sequential`, activations,
  :class:`Dropout`;
- :mod:`~chainrule.nn.conv`: :class:`Conv2d`, :func:`conv2d`; :mod:`~chainrule.nn.pool`:
  :class:`MaxPool2d`, :class:`AvgPool2d`, :class:`Flatten` and their functions;
  :mod:`~chainrule.nn.norm`: :class:`LayerNorm`, :class:`BatchNorm1d`, :class:`BatchNorm2d`;
  :mod:`~chainrule.nn.embedding`: :class:`Embedding`; :mod:`~chainrule.nn.attention`:
  :func:`scaled_dot_product_attention`, :class:`MultiheadAttention`;
- :mod:`~chainrule.nn.dag`: :class:`DAGNetwork`, single neurons on a DAG (the seed's Q4 network);
- :mod:`~chainrule.nn.losses`: :func:`mse_loss`, :func:`binary_cross_entropy_with_logits`,
  :func:`cross_entropy`;
- :mod:`~chainrule.nn.optim`: :class:`SGD`, :class:`Adam`, :class:`AdamW`, :func:`clip_grad_norm`;
- :mod:`~chainrule.nn.train`: :func:`fit` and its :class:`History` (:meth:`History.plot`:
  :mod:`~chainrule.nn.plot`);
- :mod:`~chainrule.nn.models`: :func:`~chainrule.nn.models.digits_mlp`,
  :func:`~chainrule.nn.models.digits_cnn`; :mod:`~chainrule.nn.datasets`: :func:`load_digits`;
- :mod:`~chainrule.nn.io`: :func:`save` / :func:`load` (``.npz`` + JSON metadata, no pickle).
"""

from chainrule.nn.attention import MultiheadAttention, scaled_dot_product_attention
from chainrule.nn.conv import Conv2d, conv2d
from chainrule.nn.dag import DAGNetwork
from chainrule.nn.datasets import load_digits
from chainrule.nn.embedding import Embedding, embedding
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
from chainrule.nn.norm import BatchNorm1d, BatchNorm2d, LayerNorm, layer_norm
from chainrule.nn.optim import SGD, Adam, AdamW, Optimizer, clip_grad_norm
from chainrule.nn.pool import AvgPool2d, Flatten, MaxPool2d, avg_pool2d, flatten, max_pool2d
from chainrule.nn.train import History, fit

__all__ = [
    "MLP",
    "SGD",
    "Adam",
    "AdamW",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "DAGNetwork",
    "Dropout",
    "Embedding",
    "Flatten",
    "History",
    "Identity",
    "LayerNorm",
    "LeakyReLU",
    "Linear",
    "MaxPool2d",
    "Module",
    "MultiheadAttention",
    "Optimizer",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "avg_pool2d",
    "binary_cross_entropy_with_logits",
    "clip_grad_norm",
    "conv2d",
    "cross_entropy",
    "embedding",
    "fit",
    "flatten",
    "layer_norm",
    "load",
    "load_digits",
    "max_pool2d",
    "mse_loss",
    "parameter",
    "save",
    "scaled_dot_product_attention",
]
