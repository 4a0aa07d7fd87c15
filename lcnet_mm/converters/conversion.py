"""What every layout's conversion does the same way: the loop over a state dict, and the renaming of a conv + norm
pair. Each layout's module owns only its key table (a ``rename(key) -> new key`` function) and what it changes in
a tensor on the way (a ``transform``)."""

from typing import Callable, Dict, Optional

import torch

from lcnet_mm.io import to_tensor

# Entries of a Paddle state dict that are not tensors (Paddle's own bookkeeping).
NON_TENSOR_KEYS = ('StructuredToParameterName@@',)
# A Paddle BatchNorm's tensors -> torch's.
PADDLE_NORM_NAMES = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean', '_variance': 'running_var'}
# A torch BatchNorm's tensors (timm, Transformers) -> themselves.
TORCH_NORM_NAMES = {name: name for name in ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')}
# Layer names of a conv + norm pair in Paddle's ConvBNLayer -> mmcv ConvModule's children.
PADDLE_CONV_NORM = {'conv': 'conv', 'bn': 'bn', 'norm': 'bn'}


class UnexpectedKeyError(ValueError):
    """A key that is not part of the layout being converted."""

    def __init__(self, key: str, network: str):
        super().__init__(f'unexpected key {key!r} for a {network} state dict')
        self.key = key


def conv_norm_key(
    prefix: str,
    tail: str,
    key: str,
    network: str,
    layers: Dict[str, str] = PADDLE_CONV_NORM,
    norm_names: Dict[str, str] = PADDLE_NORM_NAMES,
) -> str:
    """The lcnet-mm key of ``tail`` (``'<layer>.<tensor>'``) of a conv + norm pair whose lcnet-mm module is the
    ``ConvModule`` at ``prefix``: ``prefix.conv.weight`` or ``prefix.bn.<torch name>``. ``layers`` maps the source's
    layer names to ``'conv'`` / ``'bn'``, ``norm_names`` its norm tensors to torch's; ``key`` and ``network`` name
    what is refused."""
    layer, _, name = tail.partition('.')
    kind = layers.get(layer)
    if kind == 'conv' and name == 'weight':
        return f'{prefix}.conv.weight'
    if kind == 'bn' and name in norm_names:
        return f'{prefix}.bn.{norm_names[name]}'
    raise UnexpectedKeyError(key, network)


def convert_state_dict(
    state_dict: Dict,
    rename: Callable[[str], str],
    transform: Optional[Callable[[str, str, torch.Tensor], Dict[str, torch.Tensor]]] = None,
    skip: Callable[[str], bool] = lambda key: False,
) -> Dict[str, torch.Tensor]:
    """``state_dict`` (tensors or numpy arrays) in lcnet-mm's layout.

    Every key but Paddle's bookkeeping and those ``skip`` names goes through ``rename``; ``transform(old key,
    new key, tensor)`` may change the tensor or return several entries (``{new key: tensor, ...}``). A BN gets
    ``num_batches_tracked`` where the source has none, so that strict loading works.
    """
    converted = {}
    for key, value in state_dict.items():
        if key in NON_TENSOR_KEYS or skip(key):
            continue
        new_key = rename(key)
        tensor = to_tensor(value)
        for out_key, out_tensor in (transform(key, new_key, tensor) if transform else {new_key: tensor}).items():
            converted[out_key] = out_tensor
            if out_key.endswith('.running_mean'):
                converted.setdefault(out_key[: -len('running_mean')] + 'num_batches_tracked', torch.tensor(0))
    return converted


def scale_classifier(dropout_scale: float, key: str = 'head.fc.weight', transpose: bool = False) -> Callable:
    """A ``transform`` for :func:`convert_state_dict`: the classifier weight (``key``) multiplied by
    ``dropout_scale`` (the ``1 - p`` of a ``downscale_in_infer`` dropout before it, which torch's dropout does
    not apply at inference) and, for Paddle's [in, out] Linear weights, transposed."""

    def transform(old_key: str, new_key: str, tensor: torch.Tensor) -> Dict[str, torch.Tensor]:
        if new_key == key:
            tensor = (tensor.t().contiguous() if transpose else tensor) * dropout_scale
        return {new_key: tensor}

    return transform
