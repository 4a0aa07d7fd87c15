import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from lcnet_mm.registry import HOOKS


@HOOKS.register_module()
class ChannelsLastHook(Hook):
    """Run the model in channels-last (NHWC) memory format: oneDNN's CPU convolutions, depthwise ones above
    all, run faster on NHWC activations than on NCHW ones (measured side by side by
    ``tools/benchmark_train.py``; ``docs/training_speed.md``).

    The parameters are converted in place before training, validation and testing (after any checkpoint
    was loaded, so the optimizer keeps the same parameter objects); a convolution with NHWC weights returns
    NHWC activations from NCHW input, so the data pipeline needs no change. The numbers computed are the
    same up to float rounding, checkpoints are ordinary state dicts.
    """

    priority = 'VERY_HIGH'  # before anything runs the model

    def _convert(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        model.to(memory_format=torch.channels_last)

    def before_train(self, runner) -> None:
        self._convert(runner)

    def before_val(self, runner) -> None:
        self._convert(runner)

    def before_test(self, runner) -> None:
        self._convert(runner)
