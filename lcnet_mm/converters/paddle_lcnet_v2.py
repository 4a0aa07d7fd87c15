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
from .conversion import UnexpectedKeyError, conv_norm_key, convert_state_dict, scale_classifier
from .paddle_lcnet import PADDLE_DROPOUT_SCALE, classifier_dropout_scale, se_key

NETWORK = 'PaddleClas PP-LCNetV2'
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


def lcnet_v2_key(key: str) -> str:
    """A PaddleClas PP-LCNetV2 key -> lcnet-mm's."""
    if key.startswith('stem.0.'):
        return conv_norm_key('backbone.stem', key[len('stem.0.') :], key, NETWORK)
    if key in _HEAD:
        return _HEAD[key]
    block = _BLOCK.match(key)
    if block:
        stage, index = _block_position(block)
        prefix, rest = f'backbone.stages.{stage}.{index}', block[5]
        branch = re.fullmatch(r'dw_conv_list\.(\d+)\.(.+)', rest)
        if branch:
            return conv_norm_key(f'{prefix}.depthwise_conv.branches.{branch[1]}', branch[2], key, NETWORK)
        se = se_key(prefix, rest)
        if se:
            return se
        part, _, tail = rest.partition('.')
        if part in _PARTS:
            return conv_norm_key(f'{prefix}.{_PARTS[part]}', tail, key, NETWORK)
    raise UnexpectedKeyError(key, NETWORK)


def _is_merged_depthwise(state_dict: Dict, key: str) -> bool:
    if not _MERGED_DEPTHWISE.search(key):
        return False
    branches = key[: key.rindex('.dw_conv.')] + '.dw_conv_list.0.conv.weight'
    if branches not in state_dict:
        raise ValueError(f'{key!r}: a merged depthwise conv without its branches ({branches!r} is missing)')
    return True


def paddle_v2_to_lcnet_mm(state_dict: Dict, dropout_scale: float = PADDLE_DROPOUT_SCALE) -> Dict[str, torch.Tensor]:
    """Rename and reshape a PaddleClas PP-LCNetV2 state dict (numpy arrays) to lcnet-mm's layout (see the module
    docstring): ``fc.weight`` transposed and scaled by ``dropout_scale``, merged depthwise convs dropped, BN
    layers given ``num_batches_tracked``."""
    return convert_state_dict(
        state_dict,
        lcnet_v2_key,
        scale_classifier(classifier_dropout_scale(state_dict, dropout_scale), transpose=True),
        skip=lambda key: _is_merged_depthwise(state_dict, key),
    )


def matches(state_dict: Dict) -> bool:
    return 'stem.0.conv.weight' in state_dict and 'stem.0.bn._mean' in state_dict


def convert(state_dict: Dict, source: str, path) -> tuple:
    return checked_lcnet_v2(paddle_v2_to_lcnet_mm(state_dict), source)
