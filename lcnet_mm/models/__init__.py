from .backbones import PPLCNet
from .heads import LCNetClsHead

__all__ = ['PPLCNet', 'LCNetClsHead']
