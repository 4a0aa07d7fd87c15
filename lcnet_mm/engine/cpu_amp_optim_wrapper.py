from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from lcnet_mm.registry import OPTIM_WRAPPERS
from lcnet_mm.utils.cpu import BF16_FLAGS, native_bf16_features

PRECISIONS = ('bf16', 'fp32')


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """Mixed-precision training on the CPU: the forward pass and the loss run under
    ``torch.autocast('cpu', dtype=torch.bfloat16)`` (convolutions and matrix products in BF16, the rest as
    autocast decides), the weights, gradients and optimizer state stay float32.

    mmengine's ``AmpOptimWrapper`` is CUDA/NPU/MLU only. No loss scaling here: BF16 has float32's exponent
    range, so small gradients do not underflow to zero the way float16 ones do, and ``backward`` and
    ``step`` are plain :class:`OptimWrapper`'s.

    BF16 can pay only where the CPU computes it natively (AVX-512 BF16 or AMX-BF16); elsewhere oneDNN emulates
    it and the step gets slower, so on such a CPU this wrapper says so once and trains in float32. Native
    instructions do not make BF16 faster either: on an Intel Xeon with AVX-512 BF16 and no AMX the flagship's
    BF16 step took 1.25x its float32 channels-last one. :class:`TrainingModeHook` (every shipped config has
    it) therefore switches :attr:`precision` to whichever trains faster on the machine that runs.

    Args:
        require_native (bool): Raise instead of falling back to float32 where the CPU lacks native BF16.
        **kwargs: Those of :class:`OptimWrapper` (``optimizer``, ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self, require_native: bool = False, **kwargs):
        super().__init__(**kwargs)
        self._model_on_cpu = None  # known at the first step
        self.native_bf16 = native_bf16_features()
        self._precision = 'bf16' if self.native_bf16 else 'fp32'
        if self.native_bf16:
            print_log(
                f'CpuAmpOptimWrapper: BF16 autocast available on this CPU ({", ".join(self.native_bf16)} found)',
                logger='current',
            )
            return
        message = (
            f'CpuAmpOptimWrapper: this CPU has none of {", ".join(BF16_FLAGS)} (no native BF16), where BF16 '
            'autocast would be slower than float32'
        )
        if require_native:
            raise RuntimeError(message)
        print_log(message + '; training in float32 instead', logger='current', level=30)

    @property
    def precision(self) -> str:
        """``'bf16'`` (autocast on) or ``'fp32'``."""
        return self._precision

    @precision.setter
    def precision(self, value: str) -> None:
        if value not in PRECISIONS:
            raise ValueError(f'precision must be one of {PRECISIONS}, got {value!r}')
        if value == 'bf16' and not self.native_bf16:
            raise ValueError(f'precision bf16 needs native BF16 ({", ".join(BF16_FLAGS)}); this CPU has none')
        self._precision = value

    @property
    def enabled(self) -> bool:
        """Whether the forward pass runs under BF16 autocast."""
        return self._precision == 'bf16'

    @contextmanager
    def optim_context(self, model: nn.Module):
        enabled = self.enabled and self._on_cpu(model)
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16, enabled=enabled):
            yield

    def _on_cpu(self, model: nn.Module) -> bool:
        if self._model_on_cpu is None:
            device = next(model.parameters()).device
            self._model_on_cpu = device.type == 'cpu'
            if not self._model_on_cpu:
                print_log(
                    f'CpuAmpOptimWrapper: the model is on {device}, where CPU autocast does nothing; use '
                    "mmengine's AmpOptimWrapper there (tools/train.py --amp picks it)",
                    logger='current',
                    level=30,
                )
        return self._model_on_cpu
