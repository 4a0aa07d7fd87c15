from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from lcnet_mm.registry import OPTIM_WRAPPERS
from .cpu_features import BF16_FLAGS, native_bf16_features


@OPTIM_WRAPPERS.register_module()
class CpuAmpOptimWrapper(OptimWrapper):
    """Mixed-precision training on the CPU: the forward pass and the loss run under
    ``torch.autocast('cpu', dtype=torch.bfloat16)`` (convolutions and matrix products in BF16, the rest as
    autocast decides), the weights, gradients and optimizer state stay float32.

    mmengine's ``AmpOptimWrapper`` is CUDA/NPU/MLU only. No loss scaling here: BF16 has float32's exponent
    range, so small gradients do not underflow to zero the way float16 ones do, and ``backward`` and
    ``step`` are plain :class:`OptimWrapper`'s.

    BF16 pays only where the CPU computes it natively (AVX-512 BF16 or AMX-BF16); elsewhere oneDNN emulates
    it and the step gets slower. So on such a CPU this wrapper says so once and trains in float32.

    Args:
        require_native (bool): Raise instead of falling back to float32 where the CPU lacks native BF16.
        **kwargs: Those of :class:`OptimWrapper` (``optimizer``, ``clip_grad``, ``accumulative_counts``).
    """

    def __init__(self, require_native: bool = False, **kwargs):
        super().__init__(**kwargs)
        self._model_on_cpu = None  # known at the first step
        found = native_bf16_features()
        self.enabled = bool(found)
        if found:
            print_log(
                f'CpuAmpOptimWrapper: training with BF16 autocast on the CPU ({", ".join(found)} found)',
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
