"""Reading weight files and checking state dicts: the bottom layer, beside the models, which everything
that loads weights (converters, engine hooks, deploy and benchmark tools) builds on."""

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
    load_checkpoint,
    load_weight_file,
    to_tensor,
)

__all__ = [
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
