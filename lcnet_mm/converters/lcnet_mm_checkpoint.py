"""lcnet-mm's own checkpoints (``backbone.stem.*``): nothing to rename, only the check against the network the
tensors describe (PP-LCNet or PP-LCNetV2, read from the keys)."""

from typing import Dict

from .checks import checked_lcnet, checked_lcnet_v2
from .formats import WeightFormat


def is_lcnet_v2(state_dict: Dict) -> bool:
    """An lcnet-mm checkpoint of a PP-LCNetV2 (its stage 3 has the two-step pointwise conv)."""
    return any(k.startswith('backbone.stages.3.0.pointwise_conv.0.') for k in state_dict)


FORMAT = WeightFormat(
    name='lcnet_mm',
    origin='lcnet-mm (backbone.stem.*)',
    scheme='',
    matches=lambda state_dict: 'backbone.stem.conv.weight' in state_dict,
    convert=lambda state_dict, source, path: (
        checked_lcnet_v2(dict(state_dict), source)
        if is_lcnet_v2(state_dict)
        else checked_lcnet(dict(state_dict), source)
    ),
)
