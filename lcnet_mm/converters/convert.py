"""Turn a PP-LCNet weight file of another implementation into an lcnet-mm checkpoint.

Each source layout is one module and one :class:`~.formats.WeightFormat` row of ``FORMATS``; this module only
finds the layout a file holds and hands it over. A classifier (PaddleClas, PaddleOCR, timm, Transformers) becomes
``{'state_dict': {'backbone.*': ..., 'head.*': ...}, 'meta': {...}}``: ``load_from`` for a classification
config, or ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')`` for a detection backbone.
A PaddleDetection PicoDet becomes a detector checkpoint (``backbone.*``, ``neck.*``, ``bbox_head.*``),
``load_from`` for a PicoDet config. Everything is checked against the model lcnet-mm builds for what the file
holds.
"""

from pathlib import Path
from typing import Dict, Tuple

from lcnet_mm.io import load_weight_file
from .checks import check_against_model
from .formats import FORMATS, WeightFormat

# A folder as Transformers' save_pretrained leaves it: its weight file.
_FOLDER_WEIGHTS = ('model.safetensors',)


def detect_format(state_dict: Dict, source: str) -> WeightFormat:
    for weight_format in FORMATS:
        if weight_format.matches(state_dict):
            return weight_format
    sample = sorted(state_dict)[:5]
    known = '; '.join(f.origin for f in FORMATS)
    raise ValueError(f'{source}: not a PP-LCNet state dict of a known layout (keys start {sample}); known: {known}')


def weight_file(src) -> Path:
    """``src`` itself, or the weight file of a folder (a Transformers checkpoint)."""
    path = Path(src)
    if path.is_dir():
        for name in _FOLDER_WEIGHTS:
            if (path / name).is_file():
                return path / name
        raise FileNotFoundError(f'{src}: a folder without {" or ".join(_FOLDER_WEIGHTS)}')
    return path


def _unwrap(content, source: str) -> Dict:
    if not isinstance(content, dict):
        raise ValueError(f'{source}: expected a dict of tensors, got {type(content).__name__}')
    for wrapper in ('state_dict', 'model', 'state_dict_ema'):
        if isinstance(content.get(wrapper), dict):
            return content[wrapper]
    return content


def convert_weights(src, backbone_only: bool = False) -> Tuple[Dict, Dict]:
    """Load ``src`` (a file, or a Transformers folder) safely, convert it, check it; returns
    ``(checkpoint, info)``; ``info['layout']`` names the :class:`WeightFormat`."""
    source = str(src)
    path = weight_file(src)
    content, kind = load_weight_file(path)
    state_dict = _unwrap(content, source)
    weight_format = detect_format(state_dict, source)
    converted, scale, details = weight_format.convert(state_dict, source, path)
    info = dict(source=Path(source).name, file_kind=kind, layout=weight_format.name, scale=scale, **details)
    info['backbone_only'] = backbone_only
    if backbone_only:
        converted = {k: v for k, v in converted.items() if k.startswith('backbone.')}
    meta = dict(lcnet_mm_conversion=info)
    if details.get('class_names'):  # what mmpretrain's inferencers and visualisers name the classes by
        meta['dataset_meta'] = dict(classes=list(details['class_names']))
    return dict(state_dict=converted, meta=meta), info


__all__ = ['FORMATS', 'WeightFormat', 'check_against_model', 'convert_weights', 'detect_format', 'weight_file']
