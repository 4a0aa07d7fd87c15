import os

from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.runner import find_latest_checkpoint

from lcnet_mm.io import UnsafeWeightFileError, check_checkpoint_file, is_url, remember_source
from lcnet_mm.registry import HOOKS

_BUFFER_TAG = '__history_buffer__'
# torch's switch that turns torch.load's weights_only default off for every call that does not set it,
# mmengine's among them (a common work-around for "Weights only load failed").
_UNSAFE_LOAD_SWITCH = 'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'


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
    """Keep a run's checkpoints inside ``torch.load(weights_only=True)``, both ways.

    Writing: mmengine stores its ``MessageHub`` in every checkpoint as ``HistoryBuffer`` objects and numpy
    scalars. torch >= 2.6 refuses those under ``weights_only=True`` (its default, which mmengine's loader
    uses), and allow-listing them leads to ``builtins.getattr``, which would let a crafted file run code.
    This hook stores the message hub as plain lists and numbers and rebuilds the ``HistoryBuffer`` objects
    after loading, so that resuming, ``load_from``, ``init_cfg=dict(type='Pretrained', ...)`` and the
    toolboxes' own ``tools/test.py`` read these checkpoints with the safe default.

    Reading: the run stops before anything is loaded if ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set, which
    would make mmengine unpickle checkpoints with code execution allowed, or if the file it would load
    (``load_from``, ``--resume``, the one ``last_checkpoint`` names) is missing, truncated, corrupt or no torch
    checkpoint: the error names the file (and, resuming, the whole checkpoints beside it). The tensors of a
    loaded checkpoint remember its file, so that a model refusing them (another width) names the file.

    Every config of this project lists it in ``default_hooks`` (a dict, so it merges with a toolbox base's
    hooks): whatever tool runs the config, the same checkpoints come out.
    """

    priority = 'VERY_LOW'  # after every other hook has added what it stores

    def before_run(self, runner) -> None:
        if os.environ.get(_UNSAFE_LOAD_SWITCH, '0').lower() in ('1', 'y', 'yes', 'true'):
            raise UnsafeWeightFileError(
                f'{_UNSAFE_LOAD_SWITCH} is set: mmengine would unpickle checkpoints with code execution allowed. '
                'Checkpoints written with WeightsOnlyCheckpointHook load without it; unset it.'
            )
        self._check_the_file_to_load(runner)

    def _check_the_file_to_load(self, runner) -> None:
        """A truncated, corrupt or foreign file named by load_from, --resume or last_checkpoint stops the run
        here with its name, not later in torch's zip reader."""
        source = self._loaded_file(runner)
        if not isinstance(source, str) or is_url(source):  # nothing to load, or a scheme's own loader
            return
        try:
            check_checkpoint_file(source)
        except (FileNotFoundError, ValueError) as error:
            if not (getattr(runner, '_resume', False) and getattr(runner, '_load_from', None) is None):
                raise
            whole = []
            for candidate in sorted(os.listdir(runner.work_dir)):
                path = os.path.join(runner.work_dir, candidate)
                if candidate.endswith('.pth') and path != source:
                    try:
                        check_checkpoint_file(path)
                        whole.append(path)
                    except (FileNotFoundError, ValueError):
                        pass
            raise type(error)(
                f'{error}. It is the checkpoint {os.path.join(runner.work_dir, "last_checkpoint")} names, which '
                f'--resume reads. Whole checkpoints in the work dir: {whole or "none"}; resume from one of them '
                'with --resume PATH.'
            ) from None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        hub = checkpoint.get('message_hub')
        if not hub:
            return
        hub['log_scalars'] = {
            key: {
                _BUFFER_TAG: True,
                'log_history': buffer.data[0].tolist(),
                'count_history': buffer.data[1].tolist(),
                'max_length': buffer.max_length,
            }
            if isinstance(buffer, HistoryBuffer)
            else buffer
            for key, buffer in hub.get('log_scalars', {}).items()
        }
        hub['runtime_info'] = _plain(hub.get('runtime_info', {}))
        checkpoint['meta'] = _plain(checkpoint.get('meta', {}))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # Called by Runner.load_checkpoint between reading the file and loading the model.
        source = self._loaded_file(runner)
        if source is not None:
            remember_source(checkpoint.get('state_dict', checkpoint), source)
        scalars = checkpoint.get('message_hub', {}).get('log_scalars', {})
        for key, value in scalars.items():
            if isinstance(value, dict) and value.get(_BUFFER_TAG):
                scalars[key] = HistoryBuffer(value['log_history'], value['count_history'], value['max_length'])

    @staticmethod
    def _loaded_file(runner):
        """The file Runner.load_or_resume reads: load_from, or with --resume and no file the latest one."""
        load_from = getattr(runner, '_load_from', None)
        if load_from is None and getattr(runner, '_resume', False):
            return find_latest_checkpoint(runner.work_dir)
        return load_from
