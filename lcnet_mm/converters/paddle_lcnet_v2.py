"""PaddleClas ``PPLCNetV2_{small,base,large}[_ssld]_pretrained.pdparams`` -> lcnet-mm.

PaddleClas keeps the stem's depthwise-separable block in ``stem.1`` (lcnet-mm's stage 0) and its four stages
in ``stages.0..3`` (older PaddleClas: ``stage1..stage4``; both are read), lcnet-mm's stages 1-4. A
re-parameterisable block stores its branches (``dw_conv_list.*``, the weights that define it) and also the
merged conv that PaddleClas fills in only when it re-parameterises (``dw_conv.weight``/``.bias``, stale in a
training checkpoint): the branches are kept, the merged conv is dropped; ``switch_to_deploy`` recomputes it.
The head is PP-LCNet's (``last_conv``, ``fc`` stored [in, out], dropout in ``downscale_in_infer`` mode), converted
as for PP-LCNet (:mod:`.paddle_lcnet`).
"""

import re
from typing import Dict

import torch

from .checks import checked_lcnet_v2
from .formats import WeightFormat
from .paddle_lcnet import PADDLE_DROPOUT_SCALE, paddle_to_lcnet_mm
from .paddle_lcnet import _rename_conv_bn as _rename_paddle_conv_bn

_BLOCK = re.compile(r'^(?:stem\.1|stages\.(\d+)\.(\d+)|stage([1-4])\.(\d+))\.(.+)$')
_PARTS = {
    'dw_conv': 'depthwise_conv',
    'pw_conv': 'pointwise_conv',
    'pw_conv_1': 'pointwise_conv.0',
    'pw_conv_2': 'pointwise_conv.1',
}
_HEAD = {'last_conv.weight': 'head.head_conv.conv.weight', 'fc.weight': 'head.fc.weight', 'fc.bias': 'head.fc.bias'}
_MERGED_DEPTHWISE = re.compile(r'\.dw_conv\.(weight|bias)$')  # PaddleClas's re-parameterised conv, derived


def _block_position(match) -> tuple:
    """(lcnet-mm stage, block) of a Paddle block key match."""
    if match[1] is not None:
        return int(match[1]) + 1, int(match[2])
    if match[3] is not None:
        return int(match[3]), int(match[4])
    return 0, 0  # stem.1


def _rename(key: str) -> str:
    if key.startswith('stem.0.'):
        return _rename_conv_bn('backbone.stem', key[len('stem.0.') :], key)
    if key in _HEAD:
        return _HEAD[key]
    block = _BLOCK.match(key)
    if block:
        stage, index = _block_position(block)
        prefix, rest = f'backbone.stages.{stage}.{index}', block[5]
        branch = re.fullmatch(r'dw_conv_list\.(\d+)\.(.+)', rest)
        if branch:
            return _rename_conv_bn(f'{prefix}.depthwise_conv.branches.{branch[1]}', branch[2], key)
        se = re.fullmatch(r'se\.conv([12])\.(weight|bias)', rest)
        if se:
            return f'{prefix}.se.{"squeeze" if se[1] == "1" else "excite"}.conv.{se[2]}'
        part, _, tail = rest.partition('.')
        if part in _PARTS:
            return _rename_conv_bn(f'{prefix}.{_PARTS[part]}', tail, key)
    raise ValueError(f'unexpected key {key!r} for a PaddleClas PP-LCNetV2 state dict')


def _rename_conv_bn(prefix: str, tail: str, key: str) -> str:
    return _rename_paddle_conv_bn(prefix, tail, key, network='PP-LCNetV2')


def paddle_v2_to_lcnet_mm(state_dict: Dict, dropout_scale: float = PADDLE_DROPOUT_SCALE) -> Dict[str, torch.Tensor]:
    """Rename and reshape a PaddleClas PP-LCNetV2 state dict (numpy arrays) to lcnet-mm's layout (see the module
    docstring): ``fc.weight`` transposed and scaled by ``dropout_scale``, merged depthwise convs dropped, BN
    layers given ``num_batches_tracked``."""
    kept = {}
    for key, value in state_dict.items():
        if _MERGED_DEPTHWISE.search(key):
            branches = key[: key.rindex('.dw_conv.')] + '.dw_conv_list.0.conv.weight'
            if branches not in state_dict:
                raise ValueError(f'{key!r}: a merged depthwise conv without its branches ({branches!r} is missing)')
        else:
            kept[key] = value
    return paddle_to_lcnet_mm(kept, dropout_scale, rename=_rename)


FORMAT = WeightFormat(
    name='paddle_v2',
    origin='PaddleClas PP-LCNetV2 .pdparams (stem.0.conv.*, stem.0.bn._mean)',
    scheme='paddle://',
    matches=lambda state_dict: 'stem.0.conv.weight' in state_dict and 'stem.0.bn._mean' in state_dict,
    convert=lambda state_dict, source, path: checked_lcnet_v2(paddle_v2_to_lcnet_mm(state_dict), source),
)
