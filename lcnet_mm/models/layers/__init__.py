from .depthwise_separable import DepthwiseSeparable
from .depthwise_separable_v2 import DepthwiseSeparableV2
from .make_divisible import make_divisible
from .norm_folding import (
    FoldsNormsForDeploy,
    deploy_layer_cfg,
    fold_all_norms,
    fold_norm_into_conv,
    folded_weight_and_bias,
)
from .rep_depthwise import RepDepthwiseConv
from .squeeze_excitation import SqueezeExcitation

__all__ = [
    'DepthwiseSeparable',
    'DepthwiseSeparableV2',
    'RepDepthwiseConv',
    'SqueezeExcitation',
    'make_divisible',
    'fold_norm_into_conv',
    'folded_weight_and_bias',
    'fold_all_norms',
    'deploy_layer_cfg',
    'FoldsNormsForDeploy',
]
