from .lcnet_cls_head import LCNetClsHead

__all__ = ['LCNetClsHead']
