"""Key mappings from other PP-LCNet implementations to lcnet-mm's ``ImageClassifier`` layout
(``backbone.*`` for :class:`PPLCNet`, ``head.*`` for :class:`LCNetClsHead`)."""
from .timm_lcnet import timm_to_lcnet_mm

__all__ = ['timm_to_lcnet_mm']
