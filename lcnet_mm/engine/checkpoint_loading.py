"""The trust boundary for checkpoints, in one place.

mmengine reads every local checkpoint (``load_from``, ``--resume``, ``init_cfg=dict(type='Pretrained')``)
through ``CheckpointLoader``'s scheme for plain paths. Importing lcnet_mm replaces that scheme with
:func:`load_from_local_weights_only`, which reads through :func:`lcnet_mm.converters.load_weight_file`:
torch files with ``weights_only=True`` (whatever torch's default), ``.safetensors`` with safetensors,
``.pdparams`` with the numpy-only unpickler. No checkpoint, trusted or not, is ever unpickled with code
execution allowed; this project's own training checkpoints load that way too, thanks to
``WeightsOnlyCheckpointHook``.
"""
import os.path as osp

from mmengine.runner.checkpoint import CheckpointLoader

from lcnet_mm.converters.safe_loading import load_weight_file


def load_from_local_weights_only(filename, map_location=None):
    """mmengine ``CheckpointLoader`` scheme for local paths (its log prints the name after 'load_from_')."""
    content, _ = load_weight_file(osp.expanduser(filename), map_location=map_location)
    return content


CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_weights_only, force=True)
