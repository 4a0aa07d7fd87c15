from .pp_lcnet import PPLCNet
from .pp_lcnet_v2 import PPLCNetV2
from .pp_lcnet_v3 import PPLCNetV3
from .widths import stage_out_channels, widths_of

__all__ = ['PPLCNet', 'PPLCNetV2', 'PPLCNetV3', 'stage_out_channels', 'widths_of']
