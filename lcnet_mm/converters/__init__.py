"""Weight conversion: one module per source layout of PP-LCNet weights (PaddleClas / PaddleOCR, PaddleDetection
PicoDet, timm V1 and V2, Hugging Face Transformers), each with its :class:`WeightFormat` record, converted to
lcnet-mm's layout through the shared helpers of :mod:`.conversion`; and the checkpoint schemes that convert on load,
one per record's ``scheme``."""

from .checks import StateDictMismatchError, check_against_model
from .convert import FORMATS, convert_weights, detect_format, weight_file
from .formats import WeightFormat
from .hf_lcnet import hf_to_lcnet_mm
from .paddle_lcnet import paddle_to_lcnet_mm
from .paddle_lcnet_v2 import paddle_v2_to_lcnet_mm
from .paddle_picodet import paddle_picodet_to_lcnet_mm
from .schemes import CHECKPOINT_SCHEMES, register_checkpoint_schemes
from .timm_lcnet import timm_to_lcnet_mm
from .timm_lcnet_v2 import timm_v2_to_lcnet_mm

__all__ = [
    'CHECKPOINT_SCHEMES',
    'FORMATS',
    'StateDictMismatchError',
    'WeightFormat',
    'check_against_model',
    'convert_weights',
    'detect_format',
    'hf_to_lcnet_mm',
    'paddle_picodet_to_lcnet_mm',
    'paddle_to_lcnet_mm',
    'paddle_v2_to_lcnet_mm',
    'register_checkpoint_schemes',
    'timm_to_lcnet_mm',
    'timm_v2_to_lcnet_mm',
    'weight_file',
]
