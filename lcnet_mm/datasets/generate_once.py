"""Generate a data set directory at most once, across processes.

The data is written through :func:`lcnet_mm.io.atomic_directory` (a temporary sibling renamed into place only
when complete), with a manifest that records the generation parameters. A later run trusts a directory only if its
manifest matches; an interrupted generation leaves at most a temporary directory, which the next one removes. A
file lock keeps two processes (distributed ranks, parallel test workers) from generating twice.
"""

import fcntl
import json
from pathlib import Path
from typing import Callable

from lcnet_mm.io import atomic_directory, remove_stale_temporaries

MANIFEST = 'manifest.json'


def read_manifest(root: Path):
    try:
        return json.loads((Path(root) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


def ensure_generated(root, params: dict, generate: Callable[[Path, dict], None], log=print) -> Path:
    """Make sure ``root`` holds the data set that ``generate(tmp_dir, params)`` writes for ``params``.

    Returns ``root``. Regenerates when the directory is missing, incomplete or made with other params.
    """
    root = Path(root).absolute()
    root.parent.mkdir(parents=True, exist_ok=True)
    params = json.loads(json.dumps(params))  # what the manifest will hold (tuples -> lists)
    if read_manifest(root) == params:
        return root
    with open(root.parent / f'.{root.name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if read_manifest(root) == params:  # another process finished it while we waited
            return root
        remove_stale_temporaries(root.parent, f'{root.name}-')
        with atomic_directory(root) as tmp:
            log(f'generating {root} (once; params {params})')
            generate(tmp, params)
            (tmp / MANIFEST).write_text(json.dumps(params, indent=1, sort_keys=True))
    return root


class GeneratedOnFirstUse:
    """For a toolbox data set over generated files (a mixin before the toolbox's class): the files are generated
    when the samples are first needed (``full_init``), not when the data set object is built. Reading its
    ``metainfo`` writes nothing: mmdet's ``init_detector`` (and so ``DetInferencer``) builds the test set with
    ``lazy_init=True`` only for its classes and palette. The subclass sets ``self.generation = (root, params,
    generate)`` before the toolbox's ``__init__`` runs."""

    def generate_files(self) -> None:
        ensure_generated(*self.generation)

    def full_init(self) -> None:
        if not getattr(self, '_fully_initialized', False):
            self.generate_files()
        super().full_init()
