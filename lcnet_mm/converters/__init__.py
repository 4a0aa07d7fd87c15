"""Weight conversion: key mappings from other PP-LCNet implementations to lcnet-mm's ``ImageClassifier``
layout (``backbone.*`` for :class:`PPLCNet`, ``head.*`` for :class:`LCNetClsHead`), and safe loading."""
from .convert import check_against_model, convert_weights
from .paddle_lcnet import paddle_to_lcnet_mm
from .safe_loading import UnsafeWeightFileError, load_weight_file
from .timm_lcnet import timm_to_lcnet_mm

__all__ = ['convert_weights', 'check_against_model', 'load_weight_file', 'UnsafeWeightFileError',
           'paddle_to_lcnet_mm', 'timm_to_lcnet_mm']
