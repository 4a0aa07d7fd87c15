"""Reading weight files, checkpoint paths and their schemes, checking state dicts and writing files atomically:
the ground floor, below the models, which everything that loads or saves weights (converters, engine hooks,
deploy and benchmark tools) builds on."""

from .atomic_files import (
    AtomicLocalBackend,
    DiskFullError,
    atomic_directory,
    atomic_write,
    remove_stale_temporaries,
    torch_save_atomic,
)
from .schemes import (
    add_local_scheme,
    describe_local_schemes,
    is_download,
    is_scheme,
    is_url,
    local_path,
    local_schemes,
    scheme_of,
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
    NumpyOnlyUnpickler,
    UnsafeWeightFileError,
    check_checkpoint_file,
    load_checkpoint,
    load_weight_file,
    read_checkpoint,
    to_tensor,
)

__all__ = [
    'AtomicLocalBackend',
    'DiskFullError',
    'atomic_directory',
    'atomic_write',
    'check_checkpoint_file',
    'remove_stale_temporaries',
    'torch_save_atomic',
    'add_local_scheme',
    'describe_local_schemes',
    'is_download',
    'is_scheme',
    'is_url',
    'local_path',
    'local_schemes',
    'read_checkpoint',
    'scheme_of',
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
