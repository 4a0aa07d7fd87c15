from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer

from lcnet_mm.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'


def _plain(value):
    """Numpy scalars and arrays -> Python numbers and lists, recursively through dicts/lists/tuples."""
    if isinstance(value, dict):
        return type(value)((k, _plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if hasattr(value, 'tolist') and type(value).__module__ == 'numpy':
        return value.tolist()
    return value


@HOOKS.register_module()
class WeightsOnlyCheckpointHook(Hook):
    """Write training checkpoints that ``torch.load(weights_only=True)`` can read.

    mmengine stores its ``MessageHub`` in every checkpoint as ``HistoryBuffer`` objects and numpy
    scalars. torch >= 2.6 refuses those under ``weights_only=True``, and allow-listing them leads to
    ``builtins.getattr``, which would let a crafted file run code. Instead this hook stores the message
    hub as plain lists and numbers, and rebuilds the ``HistoryBuffer`` objects after loading, so that
    resuming, ``load_from`` and ``init_cfg=dict(type='Pretrained', ...)`` all read our checkpoints with
    the safe loader, and nothing ever needs ``weights_only=False``.
    """

    priority = 'VERY_LOW'  # after every other hook has added what it stores

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub:
            return
        hub['log_scalars'] = {
            key: {_BUFFER_TAG: True, 'log_history': buffer.data[0].tolist(),
                  'count_history': buffer.data[1].tolist(), 'max_length': buffer.max_length}
            if isinstance(buffer, HistoryBuffer) else buffer
            for key, buffer in hub.get('log_scalars', {}).items()
        }
        hub['runtime_info'] = _plain(hub.get('runtime_info', {}))
        checkpoint['meta'] = _plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
        for key, value in scalars.items():
            if isinstance(value, dict) and value.get(_BUFFER_TAG):
                scalars[key] = HistoryBuffer(value['log_history'], value['count_history'], value['max_length'])
