"""Size, compute, memory and time of a network. Timing is interleaved: on a noisy machine, every
candidate sees the same background load, so ratios between them hold even when absolute times drift."""

import contextlib
import os
import sys
import time
from typing import Callable, Dict, List, Optional

import numpy as np
import torch
import torch.nn as nn


def count_parameters(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())


def count_flops(network: nn.Module, images: torch.Tensor) -> Dict:
    """FLOPs of one forward at ``images``' shape with mmengine's FlopAnalyzer (fvcore convention: one
    multiply-add counts as one FLOP, as in the PP-LCNet and MobileNet papers), and the operators it
    could not count (the table states them)."""
    from mmengine.analysis import FlopAnalyzer

    with torch.no_grad():
        analyzer = FlopAnalyzer(network, (images,))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        analyzer.tracer_warnings('none')
        total = analyzer.total()
        unsupported = dict(analyzer.unsupported_ops())
    return dict(flops=int(total), uncounted_ops=sorted(unsupported))


def peak_activation_bytes(network: nn.Module, images: torch.Tensor) -> Optional[int]:
    """The most memory PyTorch's allocator holds at once during one eager forward, beyond the weights and
    the input (from the profiler's allocation events). None where the profiler gives no memory events."""
    from torch.profiler import ProfilerActivity, profile

    with native_stderr_silenced(), torch.inference_mode():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            network(images)
    try:
        events = [e for e in prof.profiler.kineto_results.events() if e.name() == '[memory]']
    except AttributeError:
        return None
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()
        peak = max(peak, current)
    return peak


@contextlib.contextmanager
def native_stderr_silenced():
    """Discard what C++ code writes to the process's stderr meanwhile: the profiler's Kineto library logs
    ``USDT ... profiler_start`` / ``profiler_stop`` (and, without a GPU, ``gpuGetDeviceCount failed``) on every
    use, whatever ``KINETO_LOG_LEVEL`` says; a benchmark's output is its table. Python's own messages written
    meanwhile are discarded too, so nothing else runs inside."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, 'w') as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def weight_bytes(network: nn.Module) -> int:
    return sum(t.numel() * t.element_size() for t in list(network.parameters()) + list(network.buffers()))


def interleaved_timings(
    runners: Dict[str, Callable[[], object]], warmup: int, rounds: int, reps: int
) -> Dict[str, List[float]]:
    """Seconds per call of each runner: ``warmup`` untimed calls each, then ``rounds`` rounds in which every
    runner makes one untimed and ``reps`` timed calls in turn (the order reversed every other round)."""
    for run in runners.values():
        for _ in range(warmup):
            run()
    samples = {key: [] for key in runners}
    keys = list(runners)
    for round_index in range(rounds):
        for key in keys if round_index % 2 == 0 else reversed(keys):
            run = runners[key]
            # Runtimes leave their worker threads spinning for a while after a call (OpenMP, ONNX Runtime,
            # TBB); one untimed call lets the previous runner's threads go idle before this one is timed.
            run()
            for _ in range(reps):
                start = time.perf_counter()
                run()
                samples[key].append(time.perf_counter() - start)
    return samples


def summarize(samples: List[float]) -> Dict:
    values = np.asarray(samples) * 1e3
    return dict(
        median_ms=float(np.median(values)),
        p90_ms=float(np.percentile(values, 90)),
        mean_ms=float(values.mean()),
        runs=int(values.size),
    )
