from .depthwise_separable import DepthwiseSeparable
from .make_divisible import make_divisible
from .squeeze_excitation import SqueezeExcitation

__all__ = ['DepthwiseSeparable', 'SqueezeExcitation', 'make_divisible']
