"""Training throughput, side by side: the real training iteration of a config (data loading, the model's
``train_step`` with its optimizer wrapper, every hook) in several modes, interleaved in one process."""

import itertools
import os.path as osp
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.runner import IterBasedTrainLoop, Runner

from lcnet_mm.builder import load_config
from lcnet_mm.engine import disable_amp, enable_amp, training_mode_hooks
from .measures import interleaved_timings, summarize

MODE_HELP = (
    'auto (the config as it is: TrainingModeHook measures and chooses), or fp32 / amp (BF16 autocast), each '
    'optionally with -nchw (contiguous activations instead of channels-last) and -compile (torch.compile, '
    "inductor, of the model's networks; losses and target assignment stay eager): fp32, amp, fp32-nchw, "
    'amp-nchw, fp32-compile, fp32-nchw-compile, ...'
)


@dataclass(frozen=True)
class BenchMode:
    precision: str  # 'auto', 'fp32' or 'bf16'
    memory_format: str  # 'auto', 'channels_last' or 'contiguous'
    compile: bool


def parse_mode(mode: str) -> BenchMode:
    """``auto``, ``fp32``, ``amp`` with optional ``-nchw`` and ``-compile`` suffixes -> :class:`BenchMode`."""
    head, *suffixes = mode.split('-')
    valid = head in ('auto', 'fp32', 'amp') and suffixes in ([], ['nchw'], ['compile'], ['nchw', 'compile'])
    if not valid or (head == 'auto' and suffixes):
        raise ValueError(f'training mode must be {MODE_HELP}; got {mode!r}')
    if head == 'auto':
        return BenchMode('auto', 'auto', False)
    return BenchMode(
        'bf16' if head == 'amp' else 'fp32',
        'contiguous' if 'nchw' in suffixes else 'channels_last',
        'compile' in suffixes,
    )


def set_training_mode(cfg, mode: BenchMode) -> None:
    """Make ``cfg`` train in ``mode``: a fixed mode replaces the config's TrainingModeHook by one that measures
    nothing; ``auto`` leaves the config as it is."""
    if mode.precision == 'auto':
        return
    (enable_amp if mode.precision == 'bf16' else disable_amp)(cfg)
    fixed = dict(type='lcnet_mm.TrainingModeHook', precision=mode.precision, memory_format=mode.memory_format)
    hooks = training_mode_hooks(cfg)
    for hook in hooks:
        hook.update(fixed)
    if not hooks:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [fixed]


def compile_networks(model: torch.nn.Module, **options) -> List[str]:
    """``torch.compile`` (in place, so state dict keys stay as they are) every part of an OpenMMLab model
    that holds parameters: backbone, neck, heads. The data preprocessor, and the losses and target
    assignment that the heads' ``loss`` methods run around their ``forward``, stay eager."""
    compiled = []
    for name, child in model.named_children():
        if name == 'data_preprocessor' or not any(True for _ in child.parameters()):
            continue
        child.compile(**options)
        compiled.append(name)
    return compiled


def build_training_step(
    config: str, mode: str, work_dir: str, name: str, cfg_options: Optional[dict] = None
) -> Callable[[], None]:
    """One training iteration of ``config`` in ``mode`` as a callable, after the set-up ``Runner.train()``
    does before its loop (mmengine has no public way to run single iterations). The callable has
    ``runner`` and ``notes`` (what the mode did) attributes."""
    bench_mode = parse_mode(mode)
    cfg = load_config(config, cfg_options)
    cfg.work_dir = work_dir
    cfg.experiment_name = name  # one logger and default scope per runner
    cfg.launcher = 'none'
    set_training_mode(cfg, bench_mode)
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()
    loop = runner.train_loop
    if not hasattr(loop, 'run_iter'):
        raise ValueError(f'{config}: {type(loop).__name__} has no run_iter; epoch- and iteration-based loops only')
    notes = []
    if bench_mode.compile:
        notes.append('compiled: ' + ', '.join(compile_networks(runner.model)))
    runner.optim_wrapper.initialize_count_status(runner.model, loop.iter, loop.max_iters)
    runner.call_hook('before_train')
    runner.call_hook('before_train_epoch')  # iteration-based loops call it once too
    runner.model.train()
    by_epoch = not isinstance(loop, IterBasedTrainLoop)
    if by_epoch:
        batches = itertools.chain.from_iterable(iter(loop.dataloader) for _ in itertools.count())
    else:  # its own endless iterator (a second iter() of a loader with an endless sampler would wait forever)
        batches = loop.dataloader_iterator
    counter = itertools.count()

    def step():
        index = next(counter)
        batch = next(batches)
        if by_epoch:
            loop.run_iter(index, batch)
        else:  # IterBasedTrainLoop.run_iter takes the batch alone and counts its own iterations
            loop.run_iter(batch)

    step.runner = runner
    step.notes = notes
    return step


def profile_step(step: Callable[[], None], iterations: int = 5, row_limit: int = 15) -> str:
    """torch profiler's table of the operators that took the most CPU time over ``iterations`` steps."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iterations):
            step()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=row_limit, max_name_column_width=45)


def _first_iterations(step: Callable[[], None], warmup: int) -> float:
    """Run the untimed first iterations of one mode (kernel creation, compilation, the measurement of an
    ``auto`` mode) and return how long they took."""
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    hook = next((h for h in step.runner.hooks if type(h).__name__ == 'TrainingModeHook'), None)
    extra = 0
    while hook is not None and hook.precision == 'auto' and hook.chosen is None and extra < 100:
        step()  # an auto mode: on until the hook has chosen, so that the timed iterations are in that mode
        extra += 1
    if hook is not None and hook.chosen is not None:
        step.notes.append(f'trains in {hook.chosen}')
    return time.perf_counter() - start


def training_throughput(
    configs: Sequence[str],
    modes: Sequence[str],
    work_dir: str,
    warmup: int = 3,
    rounds: int = 4,
    reps: int = 5,
    cfg_options: Optional[dict] = None,
    reference: Optional[str] = None,
    profile_iterations: int = 0,
    log=print,
) -> List[Dict]:
    """Seconds per training iteration of every config in every mode, timed interleaved; one row each, with
    the ratio of iterations per second to ``reference`` (``NAME MODE``; default the first row), the time of
    the first ``warmup`` iterations (where compilation happens) and, with ``profile_iterations``, the
    profiler's table of the costliest operators."""
    steps, rows = {}, []
    for config in configs:
        for mode in modes:
            name = osp.splitext(osp.basename(config))[0]
            key = f'{name} {mode}'
            log(f'[benchmark_train] building {key}')
            steps[key] = build_training_step(
                config, mode, osp.join(work_dir, key.replace(' ', '_')), f'benchmark_train_{len(steps)}', cfg_options
            )
            rows.append(dict(name=name, config=config, mode=mode, key=key))
    for row in rows:
        log(f'[benchmark_train] first iterations of {row["key"]}')
        row['first_iterations_s'] = _first_iterations(steps[row['key']], warmup)
        row['note'] = '; '.join(steps[row['key']].notes)
    log(
        f'[benchmark_train] timing {len(steps)} config/mode pairs interleaved: {rounds} rounds x {reps} iterations '
        f'after {warmup} untimed ones each'
    )
    timings = interleaved_timings(steps, 0, rounds, reps)
    for row in rows:
        stats = summarize(timings[row['key']])
        row.update(s_per_iter=stats['median_ms'] / 1e3, p90_s=stats['p90_ms'] / 1e3, iterations=stats['runs'])
        row['it_per_s'] = 1.0 / row['s_per_iter']
    reference = reference or rows[0]['key']
    base = next((r for r in rows if r['key'] == reference), None)
    if base is None:
        raise ValueError(f'--reference {reference!r} names no row; rows: {[r["key"] for r in rows]}')
    for row in rows:
        row['speedup'] = row['it_per_s'] / base['it_per_s']
        if profile_iterations:
            log(f'[benchmark_train] profiling {row["key"]}: {profile_iterations} iterations')
            row['profile'] = profile_step(steps[row['key']], profile_iterations)
    return rows
