"""timm ``lcnetv2_{small,base,large}`` (``timm.models.lcnetv2``) -> lcnet-mm.

timm's PP-LCNetV2 is PaddleClas's module tree under torch's names: BN statistics ``running_mean`` /
``running_var`` for ``_mean`` / ``_variance``, ``se.fc1/fc2`` for ``se.conv1/conv2``, ``pw_conv.0/1`` for the
two-step pointwise conv's ``pw_conv_1/2``, ``conv_head`` / ``classifier`` for ``last_conv`` / ``fc`` (stored
[out, in], as torch does). So each key is put in PaddleClas's terms and renamed as PaddleClas's are
(:mod:`.paddle_lcnet_v2`). timm's dropout is torch's (the identity at inference): no factor is folded in.
"""

import re
from typing import Dict

import torch

from .checks import checked_lcnet_v2
from .conversion import UnexpectedKeyError, convert_state_dict
from .paddle_lcnet_v2 import lcnet_v2_key

NETWORK = 'timm LCNetV2'

_TO_PADDLE = (
    (re.compile(r'\.bn\.running_mean$'), '.bn._mean'),
    (re.compile(r'\.bn\.running_var$'), '.bn._variance'),
    (re.compile(r'\.se\.fc([12])\.'), r'.se.conv\1.'),
    (re.compile(r'\.pw_conv\.([01])\.'), lambda m: f'.pw_conv_{int(m[1]) + 1}.'),
    (re.compile(r'^conv_head\.'), 'last_conv.'),
    (re.compile(r'^classifier\.'), 'fc.'),
)


def _paddle_name(key: str) -> str:
    for pattern, replacement in _TO_PADDLE:
        key = pattern.sub(replacement, key)
    return key


def timm_v2_key(key: str) -> str:
    """A timm LCNetV2 key -> lcnet-mm's, through PaddleClas's name."""
    if key.endswith('.bn.num_batches_tracked'):  # PaddleClas has none: renamed as its BN's running mean
        mean = timm_v2_key(key.replace('num_batches_tracked', 'running_mean'))
        return mean.replace('running_mean', 'num_batches_tracked')
    try:
        return lcnet_v2_key(_paddle_name(key))
    except ValueError:
        raise UnexpectedKeyError(key, NETWORK) from None


def timm_v2_to_lcnet_mm(state_dict: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Rename a timm LCNetV2 state dict to lcnet-mm's ``backbone.*`` / ``head.*`` keys."""
    return convert_state_dict(state_dict, timm_v2_key)


def matches(state_dict: Dict) -> bool:
    return 'stem.0.conv.weight' in state_dict and 'stem.0.bn.running_mean' in state_dict


def convert(state_dict: Dict, source: str, path) -> tuple:
    return checked_lcnet_v2(timm_v2_to_lcnet_mm(state_dict), source)
