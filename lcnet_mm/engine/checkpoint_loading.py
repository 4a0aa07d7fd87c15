"""The trust boundary for checkpoints, in one place.

mmengine reads every local checkpoint (``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')``)
through ``CheckpointLoader``'s scheme for plain paths. Importing lcnet_mm replaces that scheme with
:func:`load_from_local_weights_only`, which reads through :func:`lcnet_mm.converters.load_weight_file`:
torch files with ``weights_only=True`` (whatever torch's default), ``.safetensors`` with safetensors,
``.pdparams`` with the numpy-only unpickler. No checkpoint, trusted or not, is ever unpickled with code
execution allowed; this project's own training checkpoints load that way too, thanks to
``WeightsOnlyCheckpointHook``. It also makes a tensor of the wrong shape (a checkpoint of another width)
an error instead of mmengine's warning.
"""
import os.path as osp

from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader

from lcnet_mm.converters.convert import shape_mismatches
from lcnet_mm.converters.safe_loading import load_weight_file

_last_file = None  # the file whose weights the next load_state_dict receives, for error messages


def load_from_local_weights_only(filename, map_location=None):
    """mmengine ``CheckpointLoader`` scheme for local paths (its log prints the name after 'load_from_')."""
    global _last_file
    content, _ = load_weight_file(osp.expanduser(filename), map_location=map_location)
    _last_file = filename
    return content


_mmengine_load_state_dict = mmengine_checkpoint.load_state_dict


def load_state_dict_refusing_shape_mismatches(module, state_dict, strict=False, logger=None):
    """mmengine's non-strict loading only *warns* when a tensor has another shape than the model's, so a
    checkpoint of another width loads half-way and trains on silently. Missing or extra keys stay
    warnings (a detector's Pretrained backbone legitimately lacks the head), shape mismatches are errors."""
    own = {key: value.shape for key, value in module.state_dict().items()}
    mismatched = shape_mismatches(state_dict, own, ours='checkpoint', theirs='model')
    if mismatched:
        raise ValueError(f'{_last_file or "checkpoint"} does not fit the model ({type(module).__name__}): '
                         f'{len(mismatched)} tensors have other shapes, e.g. {mismatched[:4]}. A checkpoint of '
                         'another width or layout?')
    return _mmengine_load_state_dict(module, state_dict, strict=strict, logger=logger)


CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_weights_only, force=True)
mmengine_checkpoint.load_state_dict = load_state_dict_refusing_shape_mismatches
