"""lcnet-mm's own checkpoints (``backbone.stem.*``): nothing to rename, only the check against the network the
tensors describe (PP-LCNet or PP-LCNetV2, read from the keys)."""

from typing import Dict

from .checks import checked_lcnet, checked_lcnet_v2


def is_lcnet_v2(state_dict: Dict) -> bool:
    """An lcnet-mm checkpoint of a PP-LCNetV2 (its stage 3 has the two-step pointwise conv)."""
    return any(k.startswith('backbone.stages.3.0.pointwise_conv.0.') for k in state_dict)


def matches(state_dict: Dict) -> bool:
    return 'backbone.stem.conv.weight' in state_dict


def convert(state_dict: Dict, source: str, path) -> tuple:
    if any(k.startswith('backbone.') and k.endswith('.affine.scale') for k in state_dict):
        raise ValueError(
            f'{source}: an lcnet-mm PP-LCNetV3 checkpoint; it needs no conversion: give it to a PPLCNetV3 config '
            'directly (load_from, or init_cfg=dict(type="Pretrained", ...))'
        )
    check = checked_lcnet_v2 if is_lcnet_v2(state_dict) else checked_lcnet
    return check(dict(state_dict), source)
