"""One benchmark run: every subject on every path, measured side by side in this process."""

import os
import platform
from typing import Dict, List, Optional, Sequence

import torch

from lcnet_mm.deploy import DEFAULT_KEEP_FLOAT, PrecisionUnavailable, output_difference
from lcnet_mm.engine.cpu_features import BF16_FLAGS, INT8_FLAGS, cpu_flags
from .accuracy import ACCURACY_TOLERANCE, evaluate, evaluate_runtime
from .measures import count_flops, count_parameters, interleaved_timings, peak_activation_bytes, summarize, weight_bytes
from .paths import LOW_PRECISION_PATHS, PathInputs, build_path

# A path whose outputs differ more than this from eager (absolutely, or relative to outputs larger than 1,
# such as a detector's box distances in pixels) computes something else: reported, not timed. Low-precision
# paths differ by design: their accuracy on the test set decides (ACCURACY_TOLERANCE).
PARITY_TOLERANCE = 1e-3


def run_benchmark(
    subjects: Sequence,
    paths: Sequence[str],
    input_size: Sequence[int] = (224, 224),
    threads: int = 2,
    warmup: int = 10,
    rounds: int = 20,
    reps: int = 5,
    throughput_batch: int = 16,
    throughput_rounds: int = 5,
    evaluate_accuracy: bool = True,
    out_dir: str = 'work_dirs/benchmark',
    reference: Optional[str] = None,
    calibration: int = 100,
    keep_float: Sequence[str] = DEFAULT_KEEP_FLOAT,
    log=print,
) -> Dict:
    torch.set_num_threads(threads)
    os.makedirs(out_dir, exist_ok=True)
    onnx_dir = os.path.join(out_dir, 'onnx')
    os.makedirs(onnx_dir, exist_ok=True)
    images = torch.randn(1, 3, *input_size, generator=torch.Generator().manual_seed(0))
    batch = torch.randn(throughput_batch, 3, *input_size, generator=torch.Generator().manual_seed(1))

    inputs = PathInputs(images, threads, onnx_dir, calibration, keep_float)
    rows, runners, batch_runners = [], {}, {}
    for subject in subjects:
        log(
            f'[benchmark] {subject.name}: size, FLOPs, memory'
            + (', accuracy' if evaluate_accuracy and subject.checkpoint else '')
        )
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
        # Weights + input + the most the allocator held at once during a forward; PyTorch eager only (the
        # other runtimes allocate outside torch's allocator).
        eager_memory = (
            None if activation is None else ((activation + weight_bytes(subject.network) + images.numel() * 4) / 2**20)
        )
        if evaluate_accuracy and subject.checkpoint:
            static['metric'], static['accuracy'] = evaluate(subject, os.path.join(out_dir, 'eval'))
        with torch.inference_mode():
            expected = subject.network(images)
        for path in paths:
            row = dict(static, path=path, peak_memory_mib=eager_memory if path == 'eager' else None)
            rows.append(row)
            log(f'[benchmark] {subject.name}: preparing path {path}')
            try:
                run = build_path(path, subject, inputs)
                row['max_abs_diff'], scaled_diff = output_difference(run(images), expected)
                row['compile_s'] = getattr(run, 'compile_s', None)
                if getattr(run, 'note', None):
                    row['note'] = run.note
                if path in LOW_PRECISION_PATHS:
                    _low_precision_accuracy(row, subject, run, evaluate_accuracy, out_dir, log)
            except PrecisionUnavailable as error:  # a property of this CPU, reported as such
                row.update(unavailable=True, accuracy=None, note=f'unavailable: {error}')  # nothing was scored
                log(f'[benchmark]   {row["note"]}')
                continue
            except Exception as error:  # noqa: BLE001  (a path a model cannot take is a result, not a crash)
                row['note'] = f'{path} failed: {type(error).__name__}: {str(error).splitlines()[0][:200]}'
                row['accuracy'] = None
                log(f'[benchmark]   {row["note"]}')
                continue
            if path not in LOW_PRECISION_PATHS and not scaled_diff <= PARITY_TOLERANCE:
                row['note'] = (
                    f'outputs differ from eager by {row["max_abs_diff"]:.2e} (> {PARITY_TOLERANCE:g}); not timed'
                )
                log(f'[benchmark]   {row["note"]}')
                continue
            key = len(rows) - 1
            runners[key] = lambda run=run: run(images)
            batch_runners[key] = lambda run=run: run(batch)

    log(
        f'[benchmark] timing {len(runners)} model/path pairs interleaved: batch 1, {warmup} warm-up calls, '
        f'{rounds} rounds x {reps} calls, {threads} threads'
    )
    for key, samples in interleaved_timings(runners, warmup, rounds, reps).items():
        stats = summarize(samples)
        rows[key].update(
            latency_median_ms=stats['median_ms'], latency_p90_ms=stats['p90_ms'], latency_runs=stats['runs']
        )
    if throughput_batch > 0 and throughput_rounds > 0:
        log(f'[benchmark] throughput at batch {throughput_batch}: {throughput_rounds} rounds')
        for key, samples in interleaved_timings(batch_runners, 1, throughput_rounds, 1).items():
            rows[key]['throughput_ips'] = throughput_batch / (summarize(samples)['median_ms'] / 1e3)
    _add_ratios(rows, reference)
    return dict(
        rows=rows,
        settings=dict(
            input_size=list(input_size),
            threads=threads,
            warmup=warmup,
            rounds=rounds,
            reps=reps,
            throughput_batch=throughput_batch,
            paths=list(paths),
            reference=reference,
            calibration=calibration,
            keep_float=list(keep_float),
        ),
        machine=_machine(),
    )


def _low_precision_accuracy(row: Dict, subject, run, evaluate_accuracy: bool, out_dir: str, log):
    """A low-precision path's own accuracy on the test set (replacing the eager accuracy the row was built
    with), how far it falls below eager fp32's, and a note when that is more than the tolerance."""
    eager_accuracy = row.pop('accuracy', None)
    if eager_accuracy is None:
        reason = 'no checkpoint' if evaluate_accuracy else '--no-eval'
        row['note'] = '; '.join(filter(None, [row.get('note'), f'accuracy not measured ({reason})']))
        return
    log(f'[benchmark]   {row["path"]}: accuracy on the test set')
    _, row['accuracy'] = evaluate_runtime(subject, run, os.path.join(out_dir, 'eval'))
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

    model_name = ''
    try:
        with open('/proc/cpuinfo') as f:
            model_name = next((line.split(':', 1)[1].strip() for line in f if line.startswith('model name')), '')
    except OSError:
        pass
    flags = cpu_flags()
    return dict(
        cpu=model_name or platform.processor(),
        cores=os.cpu_count(),
        low_precision_flags=[flag for flag in INT8_FLAGS + BF16_FLAGS if flag in flags],  # what the figures rest on
        torch=torch.__version__,
        onnxruntime=onnxruntime.__version__,
        openvino=openvino.__version__,
        python=platform.python_version(),
    )
