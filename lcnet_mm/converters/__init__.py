"""Weight conversion: key mappings from other PP-LCNet implementations to lcnet-mm's ``ImageClassifier``
layout (``backbone.*`` for :class:`PPLCNet`, ``head.*`` for :class:`LCNetClsHead`), and the checkpoint
schemes (``paddle://``, ``timm://``) that convert on load."""

from .convert import check_against_model, convert_weights
from .paddle_lcnet import paddle_to_lcnet_mm
from .schemes import CHECKPOINT_SCHEMES
from .timm_lcnet import timm_to_lcnet_mm

__all__ = ['CHECKPOINT_SCHEMES', 'check_against_model', 'convert_weights', 'paddle_to_lcnet_mm', 'timm_to_lcnet_mm']
