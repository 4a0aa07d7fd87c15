from .pp_lcnet import PPLCNet
from .pp_lcnet_v2 import PPLCNetV2

__all__ = ['PPLCNet', 'PPLCNetV2']
