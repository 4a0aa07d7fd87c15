from .pp_lcnet import PPLCNet

__all__ = ['PPLCNet']
