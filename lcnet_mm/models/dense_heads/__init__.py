from .pico_head import PicoHead, PicoHeadV2
from .ssd_head_compat import SSDHeadCompat

__all__ = ['PicoHead', 'PicoHeadV2', 'SSDHeadCompat']
