"""Checkpoint paths with a scheme (``prefix://path``).

lcnet-mm adds *local* schemes to mmengine's ``CheckpointLoader``: weights of another PP-LCNet implementation read
from a local file and converted on load (nothing is downloaded). Which schemes exist, and what each reads, comes
from the converters' format records: :mod:`lcnet_mm.converters` enters them here with :func:`add_local_scheme`
when it is imported (``import lcnet_mm`` does). Every other scheme of mmengine's loader (``open-mmlab://``,
``https://``, ...) downloads.
"""

from typing import Dict, Tuple

_LOCAL_SCHEMES: Dict[str, str] = {}  # prefix -> what it reads


def add_local_scheme(prefix: str, description: str) -> None:
    if not prefix.endswith('://'):
        raise ValueError(f'a checkpoint scheme ends with "://", got {prefix!r}')
    _LOCAL_SCHEMES[prefix] = description


def local_schemes() -> Tuple[str, ...]:
    """The local schemes (``'paddle://'``, ...), in the order the converters entered them."""
    return tuple(_LOCAL_SCHEMES)


def describe_local_schemes() -> str:
    """``paddle:// (what it reads); timm:// (...)``, for messages and help texts."""
    return '; '.join(f'{prefix} ({what})' for prefix, what in _LOCAL_SCHEMES.items())


def is_url(path) -> bool:
    """A path with any scheme (``s3://``, ``open-mmlab://``, ``paddle://``): not a plain local path."""
    return isinstance(path, str) and '://' in path


def is_scheme(path) -> bool:
    """A path through one of lcnet-mm's local schemes."""
    return isinstance(path, str) and path.startswith(local_schemes())


def is_download(path) -> bool:
    """A path whose scheme would download (every scheme but lcnet-mm's local ones)."""
    return is_url(path) and not is_scheme(path)


def scheme_of(path: str) -> str:
    """``'paddle://'`` of ``'paddle://weights.pdparams'``; '' for a plain path."""
    return path[: path.index('://') + 3] if is_url(path) else ''


def local_path(path: str) -> str:
    """The local file or folder behind ``path``: itself, or what follows a local scheme."""
    return path[len(scheme_of(path)) :] if is_scheme(path) else path
