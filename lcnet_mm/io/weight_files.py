"""Read weight files without running code from them.

Every weight file that this project reads itself (converters, deploy and benchmark tools, the local checkpoint
schemes of :mod:`.schemes`) goes through :func:`load_weight_file`:
- torch files (``.pth``/``.pt``, zip format) through ``torch.load(weights_only=True)``;
- ``.safetensors`` through safetensors (no pickle at all);
- Paddle ``.pdparams`` (a pickle of numpy arrays) through :class:`NumpyOnlyUnpickler`, which admits only the
  globals a dict of numpy arrays needs and refuses everything else before it can be called.
"""

import io
import pickle
import zipfile
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from lcnet_mm.utils import InputError
from .schemes import is_scheme, local_schemes
from .state_dicts import remember_source


class WeightFileError(InputError):
    """A weight file or checkpoint that cannot be read (corrupt, truncated, of an unknown format) or does not fit
    the model it is loaded into; the message names the file."""


class MissingWeightFileError(WeightFileError, FileNotFoundError):
    """A weight file or checkpoint that is not there."""


class UnsafeWeightFileError(pickle.UnpicklingError):
    """A weight file asked to load something other than plain arrays."""


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings and numpy arrays, nothing else."""

    ALLOWED = {
        ('numpy', 'ndarray'),
        ('numpy', 'dtype'),
        ('numpy._core.multiarray', '_reconstruct'),  # numpy >= 2
        ('numpy.core.multiarray', '_reconstruct'),  # files written with numpy 1.x
    }

    def __init__(self, file, source: str):
        super().__init__(file)
        self.source = source

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise UnsafeWeightFileError(
                f'{self.source}: refused to load the global {module}.{name}; a .pdparams file may only hold '
                f'numpy arrays (allowed: {sorted(".".join(a) for a in self.ALLOWED)}). The file is not '
                'a plain weight file: do not load it with pickle.'
            )
        return super().find_class(module, name)


def _is_safetensors(head: bytes) -> bool:
    # 8-byte little-endian header length, then a JSON header.
    return len(head) > 9 and head[8:9] == b'{'


def load_weight_file(path, map_location='cpu') -> Tuple[Dict, str]:
    """Load a weight file safely; returns ``(content, kind)`` with kind 'torch', 'safetensors' or 'pickle'.

    The tensors remember the file they came from, so that a model refusing them can name it
    (:func:`lcnet_mm.io.source_of`).

    Raises:
        FileNotFoundError, ValueError (unknown format, truncated or corrupt file, naming the file),
        UnsafeWeightFileError (a pickle that would run code).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingWeightFileError(f'weight file {str(path)!r} does not exist')
    content, kind = _read(path, map_location)
    remember_source(content, str(path))
    return content, kind


def _read(path: Path, map_location) -> Tuple[Dict, str]:
    with path.open('rb') as f:
        head = f.read(16)
    try:
        if head.startswith(b'PK\x03\x04') or zipfile.is_zipfile(path):
            return torch.load(path, map_location=map_location, weights_only=True), 'torch'
        if path.suffix == '.safetensors' or _is_safetensors(head):
            from safetensors import SafetensorError
            from safetensors.torch import load_file

            try:
                return load_file(str(path), device=str(map_location or 'cpu')), 'safetensors'
            except SafetensorError as error:  # raised for a truncated file or another format
                raise WeightFileError(str(error)) from None
        if path.suffix == '.pdparams':  # Paddle: a pickle of numpy arrays
            with path.open('rb') as f:
                return NumpyOnlyUnpickler(io.BufferedReader(f), str(path)).load(), 'pickle'
        if head.startswith(b'\x80'):  # a legacy (pre-zip) torch file is a pickle too
            return torch.load(path, map_location=map_location, weights_only=True), 'torch'
    except UnsafeWeightFileError:
        raise
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error):
            raise UnsafeWeightFileError(
                f'{path}: torch.load(weights_only=True) refused it, so it holds more than tensors '
                f'({str(error).splitlines()[-1][:300]}). Not loaded.'
            ) from None
        raise WeightFileError(f'{path}: cannot read it as a weight file (truncated or corrupt?): {error}') from None
    except (EOFError, RuntimeError, OSError, ValueError) as error:
        raise WeightFileError(
            f'{path}: cannot read it as a weight file (truncated or corrupt?): '
            f'{type(error).__name__}: {str(error)[:300]}'
        ) from None
    raise WeightFileError(
        f'{path}: unknown weight file format (first bytes {head[:8]!r}); expected a torch '
        '.pth (zip), a .safetensors file or a Paddle .pdparams pickle'
    )


def check_checkpoint_file(path) -> None:
    """Refuse, naming the file, a checkpoint that torch's loader would fail on with a zip or pickle traceback:
    missing, empty, truncated, corrupt (CRCs checked) or not a torch checkpoint at all. Reads no pickle."""
    path = Path(path)
    if not path.is_file():
        raise MissingWeightFileError(f'checkpoint {str(path)!r} does not exist')
    size = path.stat().st_size
    with path.open('rb') as f:
        head = f.read(8)
    if head.startswith(b'PK'):  # torch's zip format
        try:
            with zipfile.ZipFile(path) as archive:
                corrupt = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise WeightFileError(f'{path}: truncated or corrupt checkpoint ({size} bytes: {error})') from None
        if corrupt is not None:
            raise WeightFileError(f'{path}: corrupt checkpoint: the CRC of its record {corrupt!r} does not match')
        return
    if head.startswith(b'\x80'):  # a legacy (pre-zip) torch file: torch checks it while reading
        return
    raise WeightFileError(
        f'{path}: not a checkpoint ({size} bytes{", empty" if not size else f", first bytes {head!r}"}); '
        'expected a torch .pth file (a zip archive). Weights of other implementations load through the '
        f'checkpoint schemes {", ".join(local_schemes())}.'
    )


def to_tensor(value) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(value))
    raise TypeError(f'expected an array, got {type(value).__name__}')


def read_checkpoint(path) -> Dict:
    """The content of the checkpoint at ``path``: a plain file through :func:`load_weight_file`; a local scheme
    (``paddle://...``) through mmengine's ``CheckpointLoader``, where lcnet-mm's converters registered it (read
    as safely, and converted)."""
    if is_scheme(path):
        from mmengine.runner import CheckpointLoader

        return CheckpointLoader.load_checkpoint(path, map_location='cpu')
    return load_weight_file(path)[0]


def load_checkpoint(model: torch.nn.Module, path, strict: bool = True, content: Optional[Dict] = None) -> Dict:
    """Load the checkpoint at ``path`` into ``model`` (read by :func:`read_checkpoint`: safe whatever torch's
    defaults, and errors name the file), or ``content`` already read from it. Accepts a plain state dict or
    mmengine's ``{'state_dict': ..., 'meta': ...}``; returns the whole content."""
    if content is None:
        content = read_checkpoint(path)
    state_dict = content.get('state_dict', content) if isinstance(content, dict) else content
    if not isinstance(state_dict, dict):
        raise WeightFileError(f'{path}: expected a state dict, got {type(state_dict).__name__}')
    state_dict = {
        key[len('module.') :] if key.startswith('module.') else key: value for key, value in state_dict.items()
    }
    # A converted inference-only source (Transformers' DB head has no threshold branch) names the modules it
    # lacks: those keep their initial weights, which inference does not use; any other gap is an error.
    untrained = tuple(f'{prefix}.' for prefix in _missing_for_training(content))
    try:
        result = model.load_state_dict(state_dict, strict=strict and not untrained)
    except RuntimeError as error:  # torch's missing / unexpected keys: name the file
        raise WeightFileError(f'{path} does not fit the model ({type(model).__name__}): {error}') from None
    if strict and untrained:
        missing = [key for key in result.missing_keys if not key.startswith(untrained)]
        if missing or result.unexpected_keys:
            raise WeightFileError(
                f'{path} does not fit the model ({type(model).__name__}): missing keys {missing}, '
                f'unexpected keys {result.unexpected_keys}'
            )
    return content


def _missing_for_training(content) -> list:
    """The module prefixes a converted checkpoint says its source does not have (its conversion record's
    ``missing_for_training``)."""
    meta = content.get('meta') if isinstance(content, dict) else None
    record = meta.get('lcnet_mm_conversion') if isinstance(meta, dict) else None
    prefixes = record.get('missing_for_training') if isinstance(record, dict) else None
    return [p for p in prefixes or [] if isinstance(p, str) and p]
