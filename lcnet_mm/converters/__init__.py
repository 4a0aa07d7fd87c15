"""Weight conversion: one module per source layout of PP-LCNet weights (PaddleClas / PaddleOCR, PaddleDetection
PicoDet, timm V1 and V2, Hugging Face Transformers), each with its :class:`WeightFormat` record, converted to
lcnet-mm's layout; and the checkpoint schemes (``paddle://``, ``timm://``, ``hf://``) that convert on load."""

from .checks import check_against_model
from .convert import FORMATS, convert_weights, detect_format, weight_file
from .formats import WeightFormat
from .hf_lcnet import hf_to_lcnet_mm
from .paddle_lcnet import paddle_to_lcnet_mm
from .schemes import CHECKPOINT_SCHEMES, is_scheme
from .timm_lcnet import timm_to_lcnet_mm
from .timm_lcnet_v2 import timm_v2_to_lcnet_mm

__all__ = [
    'CHECKPOINT_SCHEMES',
    'FORMATS',
    'WeightFormat',
    'check_against_model',
    'convert_weights',
    'detect_format',
    'hf_to_lcnet_mm',
    'is_scheme',
    'paddle_to_lcnet_mm',
    'timm_to_lcnet_mm',
    'timm_v2_to_lcnet_mm',
    'weight_file',
]
