from .synthetic_detection import SyntheticShapesCoco

__all__ = ['SyntheticShapesCoco']
