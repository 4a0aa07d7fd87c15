"""Reading weight files and checking state dicts: the bottom layer, beside the models, which everything
that loads weights (converters, engine hooks, deploy and benchmark tools) builds on."""

from .state_dicts import CheckpointMismatchError, refuse_shape_mismatches, remember_source, shape_mismatches, source_of
from .weight_files import NumpyOnlyUnpickler, UnsafeWeightFileError, load_checkpoint, load_weight_file, to_tensor

__all__ = [
    'CheckpointMismatchError',
    'NumpyOnlyUnpickler',
    'UnsafeWeightFileError',
    'load_checkpoint',
    'load_weight_file',
    'refuse_shape_mismatches',
    'remember_source',
    'shape_mismatches',
    'source_of',
    'to_tensor',
]
