from .depthwise_conv import RepDepthwiseConv, depthwise_conv_module, run_depthwise
from .depthwise_separable import DepthwiseSeparable
from .learnable_rep import LearnableAffine, LearnableRepConv
from .make_divisible import make_divisible
from .norm_folding import (
    FoldsNormsForDeploy,
    deploy_layer_cfg,
    fold_all_norms,
    fold_norm_into_conv,
    folded_weight_and_bias,
)
from .squeeze_excitation import SqueezeExcitation

__all__ = [
    'DepthwiseSeparable',
    'RepDepthwiseConv',
    'LearnableAffine',
    'LearnableRepConv',
    'SqueezeExcitation',
    'depthwise_conv_module',
    'run_depthwise',
    'make_divisible',
    'fold_norm_into_conv',
    'folded_weight_and_bias',
    'fold_all_norms',
    'deploy_layer_cfg',
    'FoldsNormsForDeploy',
]
