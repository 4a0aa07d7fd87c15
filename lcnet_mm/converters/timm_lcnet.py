"""timm ``lcnet_*`` (``timm.models.mobilenetv3``) -> lcnet-mm.

timm groups the 13 blocks into six stages (it splits PaddleClas's blocks5 in two); lcnet-mm uses
PaddleClas's five. Blocks keep their order, so the mapping goes through the flat block index.
"""

import re
from typing import Dict, Sequence

import torch

from lcnet_mm.models.backbones.pp_lcnet import PP_LCNET
from .checks import checked_lcnet
from .conversion import UnexpectedKeyError, convert_state_dict

NETWORK = 'timm LCNet'

# timm block sub-module -> lcnet-mm DepthwiseSeparable sub-module.
_BLOCK_PARTS = {
    'conv_dw': 'depthwise_conv.conv',
    'bn1': 'depthwise_conv.bn',
    'se.conv_reduce': 'se.squeeze.conv',
    'se.conv_expand': 'se.excite.conv',
    'conv_pw': 'pointwise_conv.conv',
    'bn2': 'pointwise_conv.bn',
}
_TOP_LEVEL = {
    'conv_stem': 'backbone.stem.conv',
    'bn1': 'backbone.stem.bn',
    'conv_head': 'head.head_conv.conv',
    'classifier': 'head.fc',
}
_BLOCK_KEY = re.compile(r'^blocks\.(\d+)\.(\d+)\.(.+)\.([^.]+)$')
_TOP_KEY = re.compile(r'^([a-z_0-9]+)\.([^.]+)$')


def timm_to_lcnet_mm(
    state_dict: Dict[str, torch.Tensor], stage_depths: Sequence[int] = tuple(len(stage) for stage in PP_LCNET)
) -> Dict[str, torch.Tensor]:
    """Rename a timm LCNet state dict to lcnet-mm's ``backbone.*`` / ``head.*`` keys.

    Args:
        state_dict: timm's ``model.state_dict()``.
        stage_depths: Blocks per lcnet-mm stage (PaddleClas's ``1, 2, 2, 6, 2``).

    Raises:
        ValueError: A key that is not part of a timm LCNet, or a block count that does not match.
    """
    timm_blocks = sorted({(int(m[1]), int(m[2])) for m in map(_BLOCK_KEY.match, state_dict) if m})
    our_blocks = [(i, j) for i, depth in enumerate(stage_depths) for j in range(depth)]
    if len(timm_blocks) != len(our_blocks):
        raise ValueError(
            f'timm state dict has {len(timm_blocks)} blocks, lcnet-mm arch has '
            f'{len(our_blocks)} (stage depths {tuple(stage_depths)})'
        )
    block_map = dict(zip(timm_blocks, our_blocks))

    def rename(key: str) -> str:
        block = _BLOCK_KEY.match(key)
        top = _TOP_KEY.match(key)
        if block and block[3] in _BLOCK_PARTS:
            i, j = block_map[(int(block[1]), int(block[2]))]
            return f'backbone.stages.{i}.{j}.{_BLOCK_PARTS[block[3]]}.{block[4]}'
        if top and top[1] in _TOP_LEVEL:
            return f'{_TOP_LEVEL[top[1]]}.{top[2]}'
        raise UnexpectedKeyError(key, NETWORK)

    return convert_state_dict(state_dict, rename)


def matches(state_dict: Dict) -> bool:
    return 'conv_stem.weight' in state_dict


def convert(state_dict: Dict, source: str, path) -> tuple:
    return checked_lcnet(timm_to_lcnet_mm(state_dict), source)
