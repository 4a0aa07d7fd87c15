"""Checkpoint schemes for mmengine's ``CheckpointLoader``: weights of another PP-LCNet implementation, converted on
load, wherever a checkpoint path is accepted (``load_from``, ``init_cfg=dict(type='Pretrained', checkpoint=...)``,
``load_checkpoint``, and this project's tools):

    init_cfg=dict(type='Pretrained', checkpoint='paddle://checkpoints/PPLCNet_x1_0_pretrained.pdparams',
                  prefix='backbone.')
    load_from = 'hf://checkpoints/PP-LCNet_x1_0_doc_ori_safetensors'   # a Transformers folder

One scheme per source: the ``scheme`` of each layout's :class:`~.formats.WeightFormat` (``FORMATS``), which is also
where the list of schemes and what each reads come from (:func:`lcnet_mm.io.local_schemes`). The path after the
prefix is a local file or folder (nothing is downloaded), read and checked exactly as by
``tools/convert_weights.py``; the prefix must match what the file holds. Plain paths are not touched: mmengine reads
them itself (``torch.load``, weights only by default with torch >= 2.6).
"""

from typing import Callable, Dict

from lcnet_mm.import_hooks import when_imported
from lcnet_mm.io import add_local_scheme, remember_source
from lcnet_mm.registry import is_free
from .formats import FORMATS


def _formats_by_scheme() -> Dict[str, list]:
    schemes = {}
    for weight_format in FORMATS:
        if weight_format.scheme:
            schemes.setdefault(weight_format.scheme, []).append(weight_format)
    return schemes


def _load_converted(filename: str, prefix: str) -> dict:
    from .convert import convert_weights  # the converters are imported when a file is converted, not before

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


def _loader(prefix: str, what: str) -> Callable:
    # mmengine logs the backend by the loader's name after 'load_from_': "Loads checkpoint by paddle backend".
    def load(filename: str, map_location=None) -> dict:
        return _load_converted(filename, prefix)

    load.__name__ = f'load_from_{prefix[:-3]}'
    load.__doc__ = f'``{prefix}PATH``: {what}, converted (on the CPU).'
    return load


CHECKPOINT_SCHEMES = {}
for _prefix, _formats in _formats_by_scheme().items():
    _what = ' or '.join(f.origin for f in _formats)
    CHECKPOINT_SCHEMES[_prefix] = _loader(_prefix, _what)
    add_local_scheme(_prefix, _what)


def register_checkpoint_schemes():
    """Add the schemes of the format records to mmengine's ``CheckpointLoader`` when ``mmengine.runner.checkpoint``
    is imported (at once if it is already): importing mmengine's runner costs a second that a user who loads no
    checkpoint need not pay. Idempotent; a prefix that another package registered is an error, never replaced."""
    when_imported('mmengine.runner.checkpoint', _add_schemes)


def _add_schemes(checkpoint_module) -> None:
    loader_class = checkpoint_module.CheckpointLoader
    for prefix, loader in CHECKPOINT_SCHEMES.items():  # (mmengine has no public look-up of its schemes)
        if is_free(loader_class._schemes, prefix, loader, "mmengine's CheckpointLoader"):
            loader_class.register_scheme(prefixes=prefix, loader=loader)
