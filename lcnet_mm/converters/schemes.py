"""Checkpoint schemes for mmengine's ``CheckpointLoader``: weights of another PP-LCNet implementation,
converted on load, wherever a checkpoint path is accepted (``load_from``,
``init_cfg=dict(type='Pretrained', checkpoint=...)``, ``load_checkpoint``):

    init_cfg=dict(type='Pretrained', checkpoint='paddle://checkpoints/PPLCNet_x1_0_pretrained.pdparams',
                  prefix='backbone.')
    init_cfg=dict(type='Pretrained', checkpoint='timm://checkpoints/lcnet_100.safetensors', prefix='backbone.')

The path after the prefix is a local file (nothing is downloaded), read and checked exactly as by
``tools/convert_weights.py``; the prefix must match what the file holds. Plain paths are not touched:
mmengine reads them itself (``torch.load``, weights only by default with torch >= 2.6).
"""

from lcnet_mm.io import remember_source
from .convert import convert_weights

_LAYOUTS = {
    'paddle://': ('paddle', 'paddle_v2', 'paddle_picodet'),
    'timm://': ('timm',),
}  # prefix -> what the file may hold


def _load_converted(filename: str, prefix: str) -> dict:
    path = filename[len(prefix) :]
    checkpoint, info = convert_weights(path)
    if info['layout'] not in _LAYOUTS[prefix]:
        right = next((p for p, layouts in _LAYOUTS.items() if info['layout'] in layouts), '')  # '': a plain path
        raise ValueError(
            f'{filename}: {prefix} expects {" or ".join(_LAYOUTS[prefix])} weights, but the file holds '
            f'{info["layout"]} weights; load it as {right}{path!r}'
        )
    remember_source(checkpoint, filename)  # the converted tensors are new: name the file for mismatch errors
    return checkpoint


# mmengine logs the backend by the loader's name after 'load_from_': "Loads checkpoint by paddle backend".
def load_from_paddle(filename: str, map_location=None) -> dict:
    """``paddle://PATH``: a PaddleClas ``PPLCNet_x*_pretrained.pdparams`` or ``PPLCNetV2_*_pretrained.pdparams``, or a
    PaddleDetection PicoDet ``.pdparams``, converted (on the CPU)."""
    return _load_converted(filename, 'paddle://')


def load_from_timm(filename: str, map_location=None) -> dict:
    """``timm://PATH``: a timm ``lcnet_*`` weight file (.pth or .safetensors), converted (on the CPU)."""
    return _load_converted(filename, 'timm://')


CHECKPOINT_SCHEMES = {'paddle://': load_from_paddle, 'timm://': load_from_timm}
