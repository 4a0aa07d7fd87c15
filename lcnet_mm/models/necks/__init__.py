from .csp_pan import CSPPAN
from .lc_pan import LCPAN
from .rse_fpn import RSEFPN

__all__ = ['LCPAN', 'CSPPAN', 'RSEFPN']
