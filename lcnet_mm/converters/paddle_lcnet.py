"""PaddleClas ``PPLCNet_x*_pretrained.pdparams`` -> lcnet-mm.

PaddleClas names stages blocks2..blocks6 (lcnet-mm stages 0..4), stores BN statistics as
``_mean``/``_variance``, and stores Linear weights as [in, out]. Its dropout runs in
``downscale_in_infer`` mode: at inference it multiplies the features by (1 - p) = 0.8 before the
classifier, where torch's dropout is the identity. Folding that factor into ``fc.weight`` (not the bias)
makes lcnet-mm's eval logits equal Paddle's.
"""

import re
from typing import Callable, Dict

import torch

from lcnet_mm.io import to_tensor
from .checks import checked_lcnet
from .formats import WeightFormat

PADDLE_DROPOUT_SCALE = 0.8  # 1 - p for PaddleClas's p=0.2 downscale_in_infer dropout
_NON_TENSOR_KEYS = ('StructuredToParameterName@@',)
_BN = {'weight': 'weight', 'bias': 'bias', '_mean': 'running_mean', '_variance': 'running_var'}
_PARTS = {'dw_conv': 'depthwise_conv', 'pw_conv': 'pointwise_conv'}
_BLOCK = re.compile(r'^blocks([2-6])\.(\d+)\.(.+)$')


def _rename(key: str) -> str:
    if key.startswith('conv1.'):
        return _rename_conv_bn('backbone.stem', key[len('conv1.') :], key)
    block = _BLOCK.match(key)
    if block:
        prefix = f'backbone.stages.{int(block[1]) - 2}.{block[2]}'
        rest = block[3]
        part, _, tail = rest.partition('.')
        if part in _PARTS:
            return _rename_conv_bn(f'{prefix}.{_PARTS[part]}', tail, key)
        se = re.fullmatch(r'se\.conv([12])\.(weight|bias)', rest)
        if se:
            return f'{prefix}.se.{"squeeze" if se[1] == "1" else "excite"}.conv.{se[2]}'
    fixed = {
        'last_conv.weight': 'head.head_conv.conv.weight',
        'last_conv.bias': 'head.head_conv.conv.bias',
        'fc.weight': 'head.fc.weight',
        'fc.bias': 'head.fc.bias',
    }
    if key in fixed:
        return fixed[key]
    raise ValueError(f'unexpected key {key!r} for a PaddleClas PP-LCNet state dict')


def _rename_conv_bn(prefix: str, tail: str, key: str, network: str = 'PP-LCNet') -> str:
    """PaddleClas's ConvBNLayer (``conv.weight``, ``bn.*``) -> mmcv's ConvModule under ``prefix``."""
    if tail == 'conv.weight':
        return f'{prefix}.conv.weight'
    layer, _, name = tail.partition('.')
    if layer == 'bn' and name in _BN:
        return f'{prefix}.bn.{_BN[name]}'
    raise ValueError(f'unexpected key {key!r} for a PaddleClas {network} state dict')


def paddle_to_lcnet_mm(
    state_dict: Dict, dropout_scale: float = PADDLE_DROPOUT_SCALE, rename: Callable[[str], str] = _rename
) -> Dict[str, torch.Tensor]:
    """Rename and reshape a PaddleClas PP-LCNet state dict (numpy arrays) to lcnet-mm's layout.

    ``fc.weight`` is transposed ([in, out] -> [out, in]) and multiplied by ``dropout_scale`` (see module
    docstring) where the model has the last conv that the dropout follows; BN layers get
    ``num_batches_tracked`` so that strict loading works. ``rename`` maps each key
    (PP-LCNetV2's converter passes its own).
    """
    converted = {}
    # PaddleClas's dropout sits after the last conv: a PULC model without it (use_last_conv=False) has none.
    dropout_scale = dropout_scale if 'last_conv.weight' in state_dict else 1.0
    for key, value in state_dict.items():
        if key in _NON_TENSOR_KEYS:
            continue
        tensor = to_tensor(value)
        new_key = rename(key)
        if key == 'fc.weight':
            tensor = tensor.t().contiguous() * dropout_scale
        converted[new_key] = tensor
        if new_key.endswith('.bn.running_mean'):
            converted[new_key.replace('running_mean', 'num_batches_tracked')] = torch.tensor(0)
    return converted


FORMAT = WeightFormat(
    name='paddle',
    origin='PaddleClas / PaddleOCR PP-LCNet .pdparams (conv1.conv.*, blocks2..6.*)',
    scheme='paddle://',
    matches=lambda state_dict: 'conv1.conv.weight' in state_dict,
    convert=lambda state_dict, source, path: checked_lcnet(paddle_to_lcnet_mm(state_dict), source),
)
