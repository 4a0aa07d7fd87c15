"""Train in the precision and memory format that are fastest on the machine that trains, chosen by timing
real training iterations of the run itself.

Which of BF16 autocast / float32 and channels-last / NCHW trains faster is a property of the CPU, its oneDNN
kernels and the network, not of the CPU's flags: on an AMD EPYC with AVX-512 BF16 the flagship's BF16 step
took 0.78x its float32 channels-last one, on an Intel Xeon with the same flags (no AMX) 1.25x. So the first
iterations of a run go round the candidate modes; every one of them is an ordinary training step (nothing is
thrown away, the model learns from each), and the fastest mode trains the rest of the run.
"""

import itertools
import time
from dataclasses import dataclass
from statistics import median
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.dist import broadcast_object_list, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

from lcnet_mm.registry import HOOKS
from lcnet_mm.utils import check_int
from .cpu_amp_optim_wrapper import CpuAmpOptimWrapper

MEMORY_FORMATS = {'channels_last': torch.channels_last, 'contiguous': torch.contiguous_format}
_SHORT = {'bf16': 'BF16', 'fp32': 'float32', 'channels_last': 'channels-last', 'contiguous': 'NCHW'}


@dataclass(frozen=True)
class TrainingMode:
    precision: str  # 'bf16' (autocast) or 'fp32'
    memory_format: str  # 'channels_last' or 'contiguous'

    def __str__(self) -> str:
        return f'{_SHORT[self.precision]} + {_SHORT[self.memory_format]}'


def choose_fastest(samples: Dict[TrainingMode, Sequence[float]]) -> Tuple[TrainingMode, Dict[TrainingMode, float]]:
    """The mode with the smallest median seconds per iteration, and every mode's median (modes without
    samples are left out)."""
    medians = {mode: median(times) for mode, times in samples.items() if times}
    if not medians:
        raise ValueError('no timed iterations to choose a training mode from')
    return min(medians, key=medians.get), medians


def spread(times: Sequence[float]) -> float:
    """The median absolute deviation: how far a mode's timings scatter, unmoved by one outlier."""
    middle = median(times)
    return median(abs(t - middle) for t in times)


def winner_is_clear(samples: Dict[TrainingMode, Sequence[float]]) -> bool:
    """Whether the fastest mode's median is ahead of every other's by more than the two modes' spreads together:
    then no single slow or fast iteration can have made it the winner."""
    timed = {mode: times for mode, times in samples.items() if times}
    if len(timed) < 2:
        return True
    first, *others = sorted(timed, key=lambda mode: median(timed[mode]))
    return all(
        median(timed[other]) - median(timed[first]) > spread(timed[first]) + spread(timed[other]) for other in others
    )


def measurement_schedule(candidates: Sequence[TrainingMode], warmup: int, rounds: int) -> List[Tuple]:
    """(mode, timed) per iteration: ``warmup`` untimed iterations of each mode (the first calls of a mode build
    its oneDNN kernels), then ``rounds`` timed ones each, interleaved (:func:`timing_round`)."""
    schedule = [(mode, False) for mode in candidates for _ in range(warmup)]
    for index in range(rounds):
        schedule += timing_round(candidates, index)
    return schedule


def timing_round(candidates: Sequence[TrainingMode], index: int) -> List[Tuple]:
    """One timed iteration of each mode, the order reversed every other round so that no mode always follows the
    same one."""
    return [(mode, True) for mode in (candidates if index % 2 == 0 else list(reversed(candidates)))]


@HOOKS.register_module()
class TrainingModeHook(Hook):
    """Pick the precision (BF16 autocast or float32) and memory format (channels-last or NCHW activations)
    that train fastest here, by timing the run's own first iterations in each, and train the rest in it.

    ``'auto'`` measures; anything else is taken as given. Candidates for ``precision='auto'``: ``bf16`` and
    ``fp32`` when the optim wrapper is :class:`CpuAmpOptimWrapper` and the CPU computes BF16 natively (emulated
    BF16 is always slower: it is not tried), else ``fp32`` only. ``memory_format='auto'`` tries both. Explicit
    choices win: ``optim_wrapper.type='OptimWrapper'`` is float32, ``tools/train.py --amp`` sets
    ``precision='bf16'``, and in the shipped configs (where the hook sits in ``default_hooks``)
    ``--cfg-options default_hooks.training_mode.precision=fp32`` (or ``memory_format=contiguous``) fixes one.

    Every measured iteration is a real training step. After ``rounds`` timed rounds the winner must be clear (its
    median ahead of every other mode's by more than their spreads together, :func:`winner_is_clear`); until it
    is, one more round is timed, up to ``max_rounds``, so that a noisy machine cannot flip the choice with a few
    unlucky iterations. A mode whose fastest timed iteration (after two rounds) is more than ``drop_ratio`` times
    the best median is not timed again: one slow outlier cannot drop a mode. The decision, with the median seconds per
    iteration of every mode and the training time it projects, is one line of the log; with several processes
    rank 0's decision holds for all. It is saved in every checkpoint, and a resumed run continues in it (the
    same numerics as the run it continues) instead of measuring again. Validation and testing run in the chosen
    memory format (channels-last until one is chosen). On a GPU the hook does nothing.

    Args:
        precision (str): ``'auto'``, ``'bf16'`` or ``'fp32'``.
        memory_format (str): ``'auto'``, ``'channels_last'`` or ``'contiguous'``.
        warmup (int): Untimed iterations per mode before timing it. Default 1.
        rounds (int): Timed iterations per mode at least. Default 3.
        max_rounds (int): Timed iterations per mode at most, while the winner is not clear. Default 8.
        drop_ratio (float): After two rounds, a mode whose fastest timed iteration is this many times the best
            median stops being timed.
        timer (callable): Seconds now; replaced in tests to inject timings.
    """

    priority = 'VERY_HIGH'  # first into every iteration and first out of it: the timing covers the step

    def __init__(
        self,
        precision: str = 'auto',
        memory_format: str = 'auto',
        warmup: int = 1,
        rounds: int = 3,
        max_rounds: int = 8,
        drop_ratio: float = 1.5,
        timer: Callable[[], float] = time.perf_counter,
    ):
        if precision not in ('auto', 'bf16', 'fp32'):
            raise ValueError(f"TrainingModeHook: precision must be 'auto', 'bf16' or 'fp32', got {precision!r}")
        if memory_format not in ('auto', *MEMORY_FORMATS):
            raise ValueError(
                f"TrainingModeHook: memory_format must be 'auto' or one of {tuple(MEMORY_FORMATS)}, "
                f'got {memory_format!r}'
            )
        check_int(warmup, 'TrainingModeHook: warmup', minimum=0)
        check_int(rounds, 'TrainingModeHook: rounds', minimum=1)
        check_int(max_rounds, 'TrainingModeHook: max_rounds', minimum=rounds)
        if not drop_ratio > 1:
            raise ValueError(f'TrainingModeHook: drop_ratio must be > 1, got {drop_ratio!r}')
        self.precision = precision
        self.memory_format = memory_format
        self.warmup = warmup
        self.rounds = rounds
        self.max_rounds = max_rounds
        self.drop_ratio = drop_ratio
        self.timer = timer
        self.chosen: Optional[TrainingMode] = None
        self.medians: Dict[TrainingMode, float] = {}
        self._schedule: List[Tuple] = []
        self._candidates: List[TrainingMode] = []
        self._rounds_timed = 0
        self._samples: Dict[TrainingMode, List[float]] = {}
        self._dropped = set()
        self._current: Optional[Tuple] = None
        self._start = None
        self._active = True
        self._resumed: Optional[TrainingMode] = None  # the mode a resumed checkpoint was training in

    # ---- what can be tried -----------------------------------------------------------------------------
    def candidates(self, runner) -> Tuple[List[TrainingMode], str]:
        """The modes to try on this runner, and why the precision candidates are what they are."""
        wrapper = runner.optim_wrapper
        autocast = isinstance(wrapper, CpuAmpOptimWrapper)
        if self.precision == 'bf16' and not autocast:
            raise ValueError(
                f"TrainingModeHook: precision='bf16' needs optim_wrapper.type='CpuAmpOptimWrapper', got "
                f'{type(wrapper).__name__}'
            )
        if self.precision != 'auto':
            precisions, why = [self.precision], f'precision {self.precision} set'
            if self.precision == 'bf16' and not wrapper.native_bf16:
                precisions, why = ['fp32'], 'precision bf16 set, but this CPU has no native BF16'
        elif not autocast:
            precisions, why = ['fp32'], f'{type(wrapper).__name__} trains float32'
        elif not wrapper.native_bf16:
            precisions, why = ['fp32'], 'no native BF16 on this CPU'
        else:
            precisions, why = ['bf16', 'fp32'], f'native BF16: {", ".join(wrapper.native_bf16)}'
        formats = list(MEMORY_FORMATS) if self.memory_format == 'auto' else [self.memory_format]
        return [TrainingMode(p, f) for p, f in itertools.product(precisions, formats)], why

    # ---- hook points -----------------------------------------------------------------------------------
    def before_train(self, runner) -> None:
        self.chosen, self.medians, self._samples, self._dropped = None, {}, {}, set()
        if next(_model(runner).parameters()).device.type != 'cpu':
            self._active = False
            print_log(
                'TrainingModeHook: the model is not on the CPU; leaving precision and layout as they are',
                logger='current',
            )
            return
        self._active = True
        candidates, self._why = self.candidates(runner)
        if len(candidates) == 1:
            self._decide(runner, candidates[0], 'nothing to measure')
            return
        if self._resumed in candidates:
            self._decide(runner, self._resumed, 'as the checkpoint this run resumes from was training')
            return
        left, needed = runner.max_iters - runner.iter, (self.warmup + 1) * len(candidates)
        if left < needed:  # a smoke test or a tiny run: switching modes would only cost
            self._decide(runner, candidates[0], f'{left} iterations, too few to time each mode once ({needed})')
            return
        self._samples = {mode: [] for mode in candidates}
        self._candidates, self._rounds_timed = candidates, self.rounds
        self._schedule = measurement_schedule(candidates, self.warmup, self.rounds)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if not self._active or self.chosen is not None:
            return
        while self._schedule and self._schedule[0][0] in self._dropped:
            self._schedule.pop(0)
        if not self._schedule and not self._another_round():
            self._decide_from_samples(runner)
            return
        self._current = self._schedule.pop(0)
        self._apply(runner, self._current[0])
        self._start = self.timer()

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self._current is None:
            return
        elapsed = self.timer() - self._start
        mode, timed = self._current
        self._current = None
        if timed:
            self._samples[mode].append(elapsed)
            self._drop_slow_modes()
        if not self._schedule and not self._another_round():
            self._decide_from_samples(runner)

    def after_train(self, runner) -> None:
        if self._active and self.chosen is None and any(self._samples.values()):
            self._decide_from_samples(runner)  # a run shorter than the measurement

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.chosen is not None:
            checkpoint.setdefault('meta', {})['training_mode'] = dict(
                precision=self.chosen.precision, memory_format=self.chosen.memory_format
            )

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get('meta', {}).get('training_mode')
        # Only a resumed run continues in the saved mode; load_from (fine-tuning another run's weights) measures.
        if getattr(runner, '_resume', False) and isinstance(saved, dict):
            self._resumed = TrainingMode(saved.get('precision'), saved.get('memory_format'))

    def before_val(self, runner) -> None:
        self._apply_layout_for_inference(runner)

    def before_test(self, runner) -> None:
        self._apply_layout_for_inference(runner)

    @property
    def decided(self) -> bool:
        """Whether the run trains in its final mode now (chosen, or nothing to choose on this device)."""
        return self.chosen is not None or not self._active

    # ---- internals -------------------------------------------------------------------------------------
    def _timed(self) -> Dict[TrainingMode, List[float]]:
        return {mode: times for mode, times in self._samples.items() if mode not in self._dropped}

    def _another_round(self) -> bool:
        """Queue one more timed round when the winner is not clear yet and the cap allows. Not with several
        processes: each rank's own timings would give each its own schedule."""
        if self._rounds_timed >= self.max_rounds or get_world_size() > 1 or winner_is_clear(self._timed()):
            return False
        modes = [mode for mode in self._candidates if mode not in self._dropped]
        self._schedule = timing_round(modes, self._rounds_timed)
        self._rounds_timed += 1
        return True

    def _drop_slow_modes(self) -> None:
        """Once each mode has two timed iterations, stop timing those whose fastest is far slower than the best
        median. Not with several processes (see :meth:`_another_round`)."""
        if get_world_size() > 1:
            return
        timed = self._timed()
        if any(len(times) < 2 for times in timed.values()):
            return
        best = min(median(times) for times in timed.values())
        self._dropped |= {mode for mode, times in timed.items() if min(times) > self.drop_ratio * best}

    def _decide_from_samples(self, runner) -> None:
        chosen, self.medians = choose_fastest(self._samples)
        timed = sum(len(times) for times in self._samples.values())
        clear = 'clear' if winner_is_clear(self._timed()) else f'not clear after {self._rounds_timed} rounds'
        figures = ', '.join(f'{mode} {seconds:.3f}' for mode, seconds in self.medians.items())
        others = [s for m, s in self.medians.items() if m != chosen]
        ratio = f' ({min(others) / self.medians[chosen]:.2f}x the next fastest)' if others else ''
        # What the rest of the run will take at this rate: a CPU slower than the config was sized for shows here.
        left = max(runner.max_iters - runner.iter - 1, 0)
        projection = f'; {left} iterations left, about {left * self.medians[chosen]:.0f} s of training'
        self._decide(
            runner,
            chosen,
            f'measured over {timed} iterations, median s/iteration: {figures}{ratio}, winner {clear}{projection}',
        )

    def _decide(self, runner, mode: TrainingMode, how: str) -> None:
        if get_world_size() > 1:  # every rank trains in rank 0's mode
            shared = [mode]
            broadcast_object_list(shared, src=0)
            mode = shared[0]
        self.chosen = mode
        self._schedule = []
        self._apply(runner, mode)
        runner.message_hub.update_info('training_mode', str(mode))
        print_log(f'TrainingModeHook: training in {mode} ({self._why}; {how})', logger='current')

    def _apply(self, runner, mode: TrainingMode) -> None:
        wrapper = runner.optim_wrapper
        if isinstance(wrapper, CpuAmpOptimWrapper):
            wrapper.precision = mode.precision
        _model(runner).to(memory_format=MEMORY_FORMATS[mode.memory_format])

    def _apply_layout_for_inference(self, runner) -> None:
        if not self._active:
            return
        if self.chosen is not None:
            layout = self.chosen.memory_format
        else:  # nothing measured (a test run): channels-last, the faster layout for inference here
            layout = 'channels_last' if self.memory_format == 'auto' else self.memory_format
        _model(runner).to(memory_format=MEMORY_FORMATS[layout])


def _model(runner):
    return runner.model.module if is_model_wrapper(runner.model) else runner.model
