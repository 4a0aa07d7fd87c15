from .pp_lcnet import PPLCNet
from .pp_lcnet_v2 import PPLCNetV2
from .widths import widths_of

__all__ = ['PPLCNet', 'PPLCNetV2', 'widths_of']
