"""One benchmark run: every subject on every path, measured side by side in this process.

The run goes in phases: each subject's static figures (size, FLOPs, memory, accuracy), each of its paths built and
checked against eager PyTorch, then every path that passed timed interleaved at batch 1 and at the throughput
batch, and the latencies put relative to the reference row.
"""

import os
import platform
from dataclasses import asdict, dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from lcnet_mm.deploy import DEFAULT_KEEP_FLOAT, PrecisionUnavailable, output_difference
from lcnet_mm.utils import BF16_FLAGS, INT8_FLAGS, cpu_flags, cpu_model_name
from .accuracy import ACCURACY_TOLERANCE, evaluate, evaluate_runtime
from .measures import count_flops, count_parameters, interleaved_timings, peak_activation_bytes, summarize, weight_bytes
from .paths import LOW_PRECISION_PATHS, PathInputs, build_path

# A path whose outputs differ more than this from eager (absolutely, or relative to outputs larger than 1,
# such as a detector's box distances in pixels) computes something else: reported, not timed. Low-precision
# paths differ by design: their accuracy on the test set decides (ACCURACY_TOLERANCE).
PARITY_TOLERANCE = 1e-3


@dataclass(frozen=True)
class BenchmarkSettings:
    """How a run measures (``tools/benchmark.py``'s options)."""

    input_size: Tuple[int, int] = (224, 224)
    threads: int = 2
    warmup: int = 10  # untimed calls of each path before the timed rounds
    rounds: int = 20  # rounds of interleaved timing
    reps: int = 5  # timed calls per path and round
    throughput_batch: int = 16  # 0: no throughput run
    throughput_rounds: int = 5
    evaluate_accuracy: bool = True  # where a subject has a checkpoint
    out_dir: str = 'work_dirs/benchmark'
    reference: Optional[str] = None  # the row latencies are divided by: NAME or NAME@PATH (default: the first)
    calibration: int = 100  # INT8 calibration images
    keep_float: Tuple[str, ...] = DEFAULT_KEEP_FLOAT  # INT8 keep-float rules


def run_benchmark(subjects: Sequence, paths: Sequence[str], settings: BenchmarkSettings, log=print) -> Dict:
    """Every subject on every path; returns ``dict(rows, settings, machine)``."""
    _check_reference(settings.reference, [subject.name for subject in subjects], paths)
    torch.set_num_threads(settings.threads)
    onnx_dir = os.path.join(settings.out_dir, 'onnx')
    os.makedirs(onnx_dir, exist_ok=True)
    images = torch.randn(1, 3, *settings.input_size, generator=torch.Generator().manual_seed(0))
    inputs = PathInputs(images, settings.threads, onnx_dir, settings.calibration, settings.keep_float)

    rows, runs = [], {}  # runs: row index -> the path's callable (only rows that passed their checks)
    for subject in subjects:
        static = static_measures(subject, images, settings, log)
        with torch.inference_mode():
            expected = subject.network(images)
        for path in paths:
            row = dict(static, path=path, peak_memory_mib=static['eager_memory_mib'] if path == 'eager' else None)
            rows.append(row)
            run = prepare_path(row, subject, path, inputs, expected, settings, log)
            if run is not None:
                runs[len(rows) - 1] = run
    for row in rows:
        row.pop('eager_memory_mib')

    time_paths(rows, runs, images, settings, log)
    _add_ratios(rows, settings.reference)
    return dict(rows=rows, settings=dict(asdict(settings), paths=list(paths)), machine=_machine())


def static_measures(subject, images: torch.Tensor, settings: BenchmarkSettings, log) -> Dict:
    """What does not depend on the path: parameters, FLOPs, eager memory and, with a checkpoint, accuracy."""
    evaluated = settings.evaluate_accuracy and subject.checkpoint
    log(f'[benchmark] {subject.name}: size, FLOPs, memory' + (', accuracy' if evaluated else ''))
    static = dict(
        name=subject.name,
        spec=subject.spec,
        part=subject.part,
        kind=subject.kind,
        checkpoint=subject.checkpoint,
        params_m=count_parameters(subject.network) / 1e6,
    )
    static.update(_flops(subject, images))
    activation = peak_activation_bytes(subject.network, images)
    # Weights + input + the most the allocator held at once during a forward; PyTorch eager only (the other
    # runtimes allocate outside torch's allocator).
    static['eager_memory_mib'] = (
        None if activation is None else (activation + weight_bytes(subject.network) + images.numel() * 4) / 2**20
    )
    if evaluated:
        static['metric'], static['accuracy'] = evaluate(subject, os.path.join(settings.out_dir, 'eval'))
    return static


def prepare_path(row: Dict, subject, path: str, inputs: PathInputs, expected, settings, log) -> Optional[Callable]:
    """Build ``path`` for ``subject`` and check it: an fp32 path must compute what eager computes, a
    low-precision one is scored on the test set. Returns the callable to time, or None (the row says why)."""
    log(f'[benchmark] {subject.name}: preparing path {path}')
    try:
        run = build_path(path, subject, inputs)
        row['max_abs_diff'], scaled_diff = output_difference(run(inputs.images), expected)
        row['compile_s'] = getattr(run, 'compile_s', None)
        if getattr(run, 'note', None):
            row['note'] = run.note
        if path in LOW_PRECISION_PATHS:
            _low_precision_accuracy(row, subject, run, settings, log)
    except PrecisionUnavailable as error:  # a property of this CPU, reported as such
        row.update(unavailable=True, accuracy=None, note=f'unavailable: {error}')  # nothing was scored
        log(f'[benchmark]   {row["note"]}')
        return None
    except Exception as error:  # noqa: BLE001  (a path a model cannot take is a result, not a crash)
        row['note'] = f'{path} failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}'
        row['accuracy'] = None
        log(f'[benchmark]   {row["note"]}')
        return None
    if path not in LOW_PRECISION_PATHS and not scaled_diff <= PARITY_TOLERANCE:
        row['note'] = f'outputs differ from eager by {row["max_abs_diff"]:.2e} (> {PARITY_TOLERANCE:g}); not timed'
        log(f'[benchmark]   {row["note"]}')
        return None
    return run


def time_paths(rows: List[Dict], runs: Dict[int, Callable], images: torch.Tensor, settings, log) -> None:
    """Latency at batch 1 and throughput at ``throughput_batch``, every path interleaved with the others."""
    s = settings
    log(
        f'[benchmark] timing {len(runs)} model/path pairs interleaved: batch 1, {s.warmup} warm-up calls, '
        f'{s.rounds} rounds x {s.reps} calls, {s.threads} threads'
    )
    single = {key: (lambda run=run: run(images)) for key, run in runs.items()}
    for key, samples in interleaved_timings(single, s.warmup, s.rounds, s.reps).items():
        stats = summarize(samples)
        rows[key].update(
            latency_median_ms=stats['median_ms'], latency_p90_ms=stats['p90_ms'], latency_runs=stats['runs']
        )
    if s.throughput_batch > 0 and s.throughput_rounds > 0:
        log(f'[benchmark] throughput at batch {s.throughput_batch}: {s.throughput_rounds} rounds')
        batch = torch.randn(s.throughput_batch, 3, *s.input_size, generator=torch.Generator().manual_seed(1))
        batched = {key: (lambda run=run: run(batch)) for key, run in runs.items()}
        for key, samples in interleaved_timings(batched, 1, s.throughput_rounds, 1).items():
            rows[key]['throughput_ips'] = s.throughput_batch / (summarize(samples)['median_ms'] / 1e3)


def _low_precision_accuracy(row: Dict, subject, run, settings: BenchmarkSettings, log):
    """A low-precision path's own accuracy on the test set (replacing the eager accuracy the row was built
    with), how far it falls below eager fp32's, and a note when that is more than the tolerance."""
    eager_accuracy = row.pop('accuracy', None)
    if eager_accuracy is None:
        reason = 'no checkpoint' if settings.evaluate_accuracy else '--no-eval'
        row['note'] = '; '.join(filter(None, [row.get('note'), f'accuracy not measured ({reason})']))
        return
    log(f'[benchmark]   {row["path"]}: accuracy on the test set')
    _, row['accuracy'] = evaluate_runtime(subject, run, os.path.join(settings.out_dir, 'eval'))
    row['accuracy_drop'] = eager_accuracy - row['accuracy']
    tolerance = ACCURACY_TOLERANCE[row['metric']]
    if row['accuracy_drop'] > tolerance:
        row['accuracy_loss'] = True
        loss = (
            f'ACCURACY LOSS: {row["metric"]} {row["accuracy"]:.3f} vs eager fp32 {eager_accuracy:.3f}, '
            f'down {row["accuracy_drop"]:.3f} (tolerance {tolerance:g})'
        )
        row['note'] = '; '.join(filter(None, [row.get('note'), loss]))
        log(f'[benchmark]   {loss}')


def _flops(subject, images) -> Dict:
    try:
        result = count_flops(subject.network, images)
        return dict(gflops=result['flops'] / 1e9, uncounted_ops=result['uncounted_ops'])
    except Exception as error:  # noqa: BLE001  (FLOPs are reported as unknown, the rest still runs)
        return dict(gflops=None, uncounted_ops=[f'FLOP count failed: {type(error).__name__}: {error}'[:200]])


def _check_reference(reference: Optional[str], names: Sequence[str], paths: Sequence[str]):
    """Refuse a ``--reference`` that names no row of this run before anything is timed (a row that was named
    but could not be timed is refused after, by :func:`_add_ratios`)."""
    if reference is None:
        return
    name, _, path = reference.partition('@')
    if name not in names or (path or 'eager') not in paths:
        rows = sorted(f'{n}@{p}' for n in names for p in paths)
        raise ValueError(f'--reference {reference!r} names no row of this run; rows are {rows}')


def _add_ratios(rows: List[Dict], reference: Optional[str]):
    """Latency relative to the reference row: ``NAME`` (its eager path) or ``NAME@PATH``; default the first
    timed row."""
    timed = [r for r in rows if r.get('latency_median_ms') is not None]
    if not timed:
        return
    if reference is None:
        ref = timed[0]
    else:
        name, _, path = reference.partition('@')
        matches = [r for r in timed if r['name'] == name and r['path'] == (path or 'eager')]
        if not matches:
            raise ValueError(
                f'--reference {reference!r} names no timed row; rows are '
                f'{sorted({r["name"] + "@" + r["path"] for r in timed})}'
            )
        ref = matches[0]
    for row in timed:
        row['ratio'] = row['latency_median_ms'] / ref['latency_median_ms']
        row['reference'] = f'{ref["name"]}@{ref["path"]}'


def _machine() -> Dict:
    import onnxruntime
    import openvino

    flags = cpu_flags()
    return dict(
        cpu=cpu_model_name(),
        cores=os.cpu_count(),
        low_precision_flags=[flag for flag in INT8_FLAGS + BF16_FLAGS if flag in flags],  # what the figures rest on
        torch=torch.__version__,
        onnxruntime=onnxruntime.__version__,
        openvino=openvino.__version__,
        python=platform.python_version(),
    )
