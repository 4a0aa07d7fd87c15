from .db_head import DBHead
from .ld_pico_head import LDPicoHead, LDPicoHeadV2
from .pico_head import PicoHead, PicoHeadV2
from .ssd_head_compat import SSDHeadCompat

__all__ = ['DBHead', 'LDPicoHead', 'LDPicoHeadV2', 'PicoHead', 'PicoHeadV2', 'SSDHeadCompat']
