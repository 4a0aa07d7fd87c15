"""Reading weight files, checking state dicts and writing files atomically: the bottom layer, beside the
models, which everything that loads or saves weights (converters, engine hooks, deploy and benchmark tools)
builds on."""

from .atomic_files import (
    AtomicLocalBackend,
    DiskFullError,
    atomic_write,
    remove_stale_temporaries,
    torch_save_atomic,
)
from .state_dicts import (
    CheckpointMismatchError,
    ForeignCheckpointError,
    refuse_foreign_checkpoint,
    refuse_shape_mismatches,
    remember_source,
    shape_mismatches,
    source_of,
)
from .weight_files import (
    LOCAL_CHECKPOINT_SCHEMES,
    NumpyOnlyUnpickler,
    UnsafeWeightFileError,
    check_checkpoint_file,
    load_checkpoint,
    load_weight_file,
    to_tensor,
)

__all__ = [
    'AtomicLocalBackend',
    'DiskFullError',
    'atomic_write',
    'check_checkpoint_file',
    'remove_stale_temporaries',
    'torch_save_atomic',
    'LOCAL_CHECKPOINT_SCHEMES',
    'CheckpointMismatchError',
    'ForeignCheckpointError',
    'NumpyOnlyUnpickler',
    'UnsafeWeightFileError',
    'load_checkpoint',
    'load_weight_file',
    'refuse_foreign_checkpoint',
    'refuse_shape_mismatches',
    'remember_source',
    'shape_mismatches',
    'source_of',
    'to_tensor',
]
