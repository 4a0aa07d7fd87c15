"""Checkpoint schemes for mmengine's ``CheckpointLoader``: weights of another PP-LCNet implementation,
converted on load, wherever a checkpoint path is accepted (``load_from``,
``init_cfg=dict(type='Pretrained', checkpoint=...)``, ``load_checkpoint``, and this project's tools):

    init_cfg=dict(type='Pretrained', checkpoint='paddle://checkpoints/PPLCNet_x1_0_pretrained.pdparams',
                  prefix='backbone.')
    init_cfg=dict(type='Pretrained', checkpoint='timm://checkpoints/lcnet_100.safetensors', prefix='backbone.')
    load_from = 'hf://checkpoints/PP-LCNet_x1_0_doc_ori_safetensors'   # a Transformers folder

One scheme per source (the ``scheme`` of each layout's :class:`~.formats.WeightFormat`). The path after the
prefix is a local file or folder (nothing is downloaded), read and checked exactly as by
``tools/convert_weights.py``; the prefix must match what the file holds. Plain paths are not touched:
mmengine reads them itself (``torch.load``, weights only by default with torch >= 2.6).
"""

from lcnet_mm.io import LOCAL_CHECKPOINT_SCHEMES, remember_source
from .convert import FORMATS, convert_weights

_WHAT = {
    'paddle://': 'a PaddleClas / PaddleOCR PP-LCNet or PP-LCNetV2, or a PaddleDetection PicoDet .pdparams',
    'timm://': 'a timm lcnet_* or lcnetv2_* weight file (.pth or .safetensors)',
    'hf://': 'a Hugging Face Transformers PP-LCNet folder (config.json + model.safetensors) or its safetensors',
}


def _load_converted(filename: str, prefix: str) -> dict:
    path = filename[len(prefix) :]
    checkpoint, info = convert_weights(path)
    layouts = [f.name for f in FORMATS if f.scheme == prefix]
    if info['layout'] not in layouts:
        right = next(f.scheme for f in FORMATS if f.name == info['layout'])  # '': a plain path
        raise ValueError(
            f'{filename}: {prefix} expects {" or ".join(layouts)} weights, but the file holds '
            f'{info["layout"]} weights; load it as {right}{path!r}'
        )
    remember_source(checkpoint, filename)  # the converted tensors are new: name the file for mismatch errors
    return checkpoint


def _loader(prefix: str):
    # mmengine logs the backend by the loader's name after 'load_from_': "Loads checkpoint by paddle backend".
    def load(filename: str, map_location=None) -> dict:
        return _load_converted(filename, prefix)

    load.__name__ = f'load_from_{prefix[:-3]}'
    load.__doc__ = f'``{prefix}PATH``: {_WHAT[prefix]}, converted (on the CPU).'
    return load


CHECKPOINT_SCHEMES = {prefix: _loader(prefix) for prefix in LOCAL_CHECKPOINT_SCHEMES}


def is_scheme(path) -> bool:
    """Whether ``path`` names a checkpoint through one of these schemes."""
    return isinstance(path, str) and path.startswith(tuple(CHECKPOINT_SCHEMES))
