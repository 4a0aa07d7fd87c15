from .backbones import PPLCNet
from .dense_heads import SSDHeadCompat
from .heads import LCNetClsHead

__all__ = ['PPLCNet', 'LCNetClsHead', 'SSDHeadCompat']
