from .depthwise_separable import DepthwiseSeparable
from .make_divisible import make_divisible
from .norm_folding import FoldsNormsForDeploy, deploy_layer_cfg, fold_all_norms, fold_norm_into_conv
from .squeeze_excitation import SqueezeExcitation

__all__ = [
    'DepthwiseSeparable',
    'SqueezeExcitation',
    'make_divisible',
    'fold_norm_into_conv',
    'fold_all_norms',
    'deploy_layer_cfg',
    'FoldsNormsForDeploy',
]
