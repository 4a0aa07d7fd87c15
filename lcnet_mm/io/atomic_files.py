"""Files (and directories) that exist whole or not at all.

A file that a resume or a user reads (checkpoints, the ``last_checkpoint`` pointer, converted weights,
reports) is written to a temporary file in the same folder, flushed and fsynced, renamed over its target
and the folder fsynced. A kill or power loss at any instant leaves either the old file or the new one,
never a truncated mix; a failed write (a full disk) removes its temporary file and leaves the old file as
it was.

:class:`AtomicLocalBackend` is mmengine's local file backend with these writes, registered under the name
``'atomic_local'`` (``backend_args=dict(backend='atomic_local')``): ``Runner.save_checkpoint`` writes through
the backend its checkpoint hook names, so :class:`lcnet_mm.engine.AtomicCheckpointHook` selects it. It also
defers removals while asked to, so that an old checkpoint goes only once its replacement is on disk.
"""

import contextlib
import errno
import io
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Union

from mmengine.fileio import LocalBackend, register_backend

TEMP_PREFIX = '.tmp-'  # a temporary file is '.tmp-<target name>-<random>' beside its target
_NO_SPACE = {
    errno.ENOSPC: 'the disk is full',
    errno.EDQUOT: 'the disk quota is used up',
    errno.EFBIG: 'the file-size limit is reached (ulimit -f)',
}


class DiskFullError(OSError):
    """A file could not be written for lack of space (a full disk, a quota, a file-size limit); nothing was
    replaced."""


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temporary(path: Path, suffix: str = ''):
    """A new temporary file beside ``path``, with the permissions a plain ``open(path, 'w')`` would give
    (``tempfile.mkstemp`` makes them 0600, which would change every checkpoint's mode)."""
    while True:
        tmp = path.parent / f'{TEMP_PREFIX}{path.name}-{secrets.token_hex(4)}{suffix}'
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), str(tmp)
        except FileExistsError:
            continue


def atomic_write(path: Union[str, Path], data: Union[bytes, str], encoding: str = 'utf-8') -> None:
    """Write ``data`` to ``path`` so that ``path`` holds either its old content or all of ``data``.

    Raises:
        DiskFullError: no space for the file (ENOSPC, EDQUOT, EFBIG), naming it; ``path`` is untouched.
    """
    path = Path(path)
    if isinstance(data, str):
        data = data.encode(encoding)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(error, OSError) and error.errno in _NO_SPACE:
            why = _NO_SPACE[error.errno]
            raise DiskFullError(
                error.errno,
                f'cannot write {path} ({len(data)} bytes): {why} ({os.strerror(error.errno)}). Nothing was '
                f'replaced: {path.name} and the files beside it are as they were. Make room and run the same '
                'command again (with --resume for a training run).',
            ) from None
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_file(path: Union[str, Path], suffix: str = '') -> Iterator[Path]:
    """A file that exists whole at ``path`` or not at all, for writers that want a path, not bytes (an ONNX
    exporter): the block writes the temporary sibling it is given (ending in ``suffix``), which replaces
    ``path`` in one rename when the block ends without an error and is removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _create_temporary(path, suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, 'rb') as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)  # gone already after the rename
    _fsync_folder(path.parent)


def remove_stale_temporaries(folder: Union[str, Path], name: str = '') -> List[Path]:
    """Remove the temporary files and directories that writes killed half-way left in ``folder`` (those of the
    target ``name`` only, if given); returns them."""
    stale = sorted(Path(folder).glob(f'{TEMP_PREFIX}{name}*'))
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return stale


@contextlib.contextmanager
def atomic_directory(path: Union[str, Path]) -> Iterator[Path]:
    """A directory that exists whole at ``path`` or not at all: the block fills the temporary sibling it is
    given, which replaces ``path`` (and whatever was there) in one rename when the block ends without an error,
    and is removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f'{TEMP_PREFIX}{path.name}-', dir=path.parent))
    try:
        yield tmp
        if path.exists():  # out of the way first: a directory cannot be renamed over a non-empty one
            old = Path(tempfile.mkdtemp(prefix=f'{TEMP_PREFIX}{path.name}-', dir=path.parent))
            os.rename(path, old / 'old')
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
        _fsync_folder(path.parent)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already after the rename


class AtomicLocalBackend(LocalBackend):
    """mmengine's local backend whose ``put``/``put_text`` are atomic and whose removals can wait."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._deferred = None  # the removals queued inside deferred_removals(), else None

    def put(self, obj: bytes, filepath) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath, encoding: str = 'utf-8') -> None:
        atomic_write(filepath, obj, encoding)

    def remove(self, filepath) -> None:
        if self._deferred is not None:
            self._deferred.append(filepath)
        else:
            super().remove(filepath)

    @contextlib.contextmanager
    def deferred_removals(self, keep: Callable[[], Iterable[str]] = tuple):
        """Removals asked for inside happen at its end, after every write inside, and only if it ends
        without an error; the files ``keep()`` names then are never removed."""
        self._deferred = []
        try:
            yield self
            queued = self._deferred
        finally:
            self._deferred = None
        kept = {os.path.abspath(path) for path in keep() if path}
        for filepath in queued:
            if os.path.abspath(filepath) not in kept and os.path.isfile(filepath):
                os.remove(filepath)


def torch_save_atomic(obj, path: Union[str, Path]) -> None:
    """``torch.save`` through :func:`atomic_write`."""
    import torch

    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write(path, buffer.getvalue())


register_backend('atomic_local', AtomicLocalBackend)
