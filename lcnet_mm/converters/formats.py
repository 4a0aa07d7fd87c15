"""The weight layouts lcnet-mm reads, one record each: how the layout is named, where such files come from, the
checkpoint scheme that converts it on load, and the module that recognises and converts it (its ``matches`` and
``convert`` functions). The table is data only, so that the checkpoint schemes are known without importing
any converter (:mod:`.schemes`); a new source is one module and one row here."""

import importlib
from dataclasses import dataclass
from typing import Callable, Dict


@dataclass(frozen=True)
class WeightFormat:
    """One source layout of PP-LCNet weights.

    Attributes:
        name: The layout's name (``info['layout']``, error messages), e.g. ``'paddle'``.
        origin: Where such files come from, for messages, e.g. ``'PaddleClas PP-LCNet (conv1.conv.*)'``.
        scheme: The checkpoint scheme that converts it on load (``'paddle://'``), or ``''`` for none.
        module: The module of :mod:`lcnet_mm.converters` that converts it, with
            ``matches(state_dict) -> bool``: whether a state dict (its keys) is of this layout, and
            ``convert(state_dict, source, path) -> (converted state dict, scale, details)``, which checks what it
            converts against the model it describes.
    """

    name: str
    origin: str
    scheme: str
    module: str

    def _function(self, name: str) -> Callable:
        return getattr(importlib.import_module(f'{__package__}.{self.module}'), name)

    @property
    def matches(self) -> Callable[[Dict], bool]:
        return self._function('matches')

    @property
    def convert(self) -> Callable:
        return self._function('convert')


# Their `matches` exclude one another; the order is only that of messages.
FORMATS = (
    WeightFormat(
        'paddle', 'PaddleClas / PaddleOCR PP-LCNet .pdparams (conv1.conv.*, blocks2..6.*)', 'paddle://', 'paddle_lcnet'
    ),
    WeightFormat(
        'paddle_v2', 'PaddleClas PP-LCNetV2 .pdparams (stem.0.conv.*, stem.0.bn._mean)', 'paddle://', 'paddle_lcnet_v2'
    ),
    WeightFormat(
        'paddle_picodet',
        'PaddleDetection PicoDet .pdparams (backbone., neck., head.conv_feat.*)',
        'paddle://',
        'paddle_picodet',
    ),
    WeightFormat(
        'paddle_ppocr_det',
        'PaddleOCR PP-LCNetV3 text detector .pdparams (backbone.blocks2.0.dw_conv.lab.*, neck.ins_conv.*, '
        'head.binarize.*) or its det backbone',
        'paddle://',
        'paddle_ppocr_det',
    ),
    WeightFormat('timm', 'timm lcnet_* (conv_stem.*, blocks.*)', 'timm://', 'timm_lcnet'),
    WeightFormat('timm_v2', 'timm lcnetv2_* (stem.0.conv.*, stem.0.bn.running_mean)', 'timm://', 'timm_lcnet_v2'),
    WeightFormat(
        'hf',
        'Hugging Face Transformers PPLCNetForImageClassification (a save_pretrained folder or its safetensors)',
        'hf://',
        'hf_lcnet',
    ),
    WeightFormat(
        'hf_ppocr_det',
        'Hugging Face Transformers PPOCRV5MobileDetForObjectDetection (PP-OCRv5 mobile text detector)',
        'hf://',
        'hf_ppocr_det',
    ),
    WeightFormat('lcnet_mm', 'lcnet-mm (backbone.stem.*)', '', 'lcnet_mm_checkpoint'),
)
