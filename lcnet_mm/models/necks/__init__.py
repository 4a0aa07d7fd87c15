from .csp_pan import CSPPAN
from .lc_pan import LCPAN

__all__ = ['LCPAN', 'CSPPAN']
