"""Training throughput, side by side: the real training iteration of a config (data loading, the model's
``train_step`` with its optimizer wrapper, every hook) in several modes, interleaved in one process."""

import itertools
import os.path as osp
from typing import Callable, Dict, List, Optional, Sequence

from mmengine.runner import Runner

from lcnet_mm.utils import disable_amp, enable_amp, load_config
from .measures import interleaved_timings, summarize

# 'fp32' is float32 even where the config defaults to an AMP wrapper; 'amp' is tools/train.py --amp;
# '-nchw': without the config's ChannelsLastHook (how the training step ran before it)
MODES = ('fp32', 'amp', 'fp32-nchw', 'amp-nchw')


def parse_mode(mode: str) -> tuple:
    """``fp32``, ``amp``, ``fp32-nchw``, ``amp-nchw`` -> (precision, whether the ChannelsLastHook stays)."""
    if mode not in MODES:
        raise ValueError(f'training mode must be one of {MODES}, got {mode!r}')
    return mode.split('-')[0], not mode.endswith('-nchw')


def build_training_step(
    config: str, mode: str, work_dir: str, name: str, cfg_options: Optional[dict] = None
) -> Callable[[], None]:
    """One training iteration of ``config`` in ``mode`` as a callable, after the set-up ``Runner.train()``
    does before its loop (mmengine has no public way to run single iterations)."""
    precision, channels_last = parse_mode(mode)
    cfg = load_config(config, cfg_options)
    cfg.work_dir = work_dir
    cfg.experiment_name = name  # one logger and default scope per runner
    cfg.launcher = 'none'
    if precision == 'amp':
        enable_amp(cfg)
    else:  # float32 whatever the config's default
        disable_amp(cfg)
    if not channels_last:
        cfg.custom_hooks = [h for h in cfg.get('custom_hooks', []) if 'ChannelsLastHook' not in str(h.get('type'))]
    runner = Runner.from_cfg(cfg)
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    runner.param_schedulers = runner.build_param_scheduler(runner.param_schedulers)
    runner.call_hook('before_run')
    runner._init_model_weights()
    loop = runner.train_loop
    if not hasattr(loop, 'max_epochs'):
        raise ValueError(f'{config}: only epoch-based training loops are benchmarked, got {type(loop).__name__}')
    runner.optim_wrapper.initialize_count_status(runner.model, loop.iter, loop.max_iters)
    runner.call_hook('before_train')
    runner.call_hook('before_train_epoch')
    runner.model.train()
    batches = itertools.chain.from_iterable(iter(loop.dataloader) for _ in itertools.count())
    counter = itertools.count()

    def step():
        loop.run_iter(next(counter), next(batches))

    return step


def profile_step(step: Callable[[], None], iterations: int = 5, row_limit: int = 15) -> str:
    """torch profiler's table of the operators that took the most CPU time over ``iterations`` steps."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(iterations):
            step()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=row_limit, max_name_column_width=45)


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
    the ratio of iterations per second to ``reference`` (``NAME MODE``; default the first row) and, with
    ``profile_iterations``, the profiler's table of the costliest operators."""
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
    log(
        f'[benchmark_train] timing {len(steps)} config/mode pairs interleaved: {warmup} warm-up iterations, '
        f'{rounds} rounds x {reps} iterations'
    )
    timings = interleaved_timings(steps, warmup, rounds, reps)
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
