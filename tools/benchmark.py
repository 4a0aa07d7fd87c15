r"""Compare models on the CPU: parameters, FLOPs, peak memory, latency (batch 1, median and p90),
throughput, and accuracy where a checkpoint is given; every model on every path measured interleaved in
this one process, so that the ratios hold on a noisy machine.

    # classifiers, lcnet-mm vs timm's lcnet_100 and mmpretrain's MobileNetV3 (random weights)
    python tools/benchmark.py configs/pplcnet/pplcnet-x1.0_8xb256_in1k.py timm:lcnet_100 \
        configs/peers/mobilenet-v3-large_8xb256_in1k.py --paths eager folded-cl onnxruntime openvino

    # detectors with their trained checkpoints: adds bbox mAP, plots latency against it
    python tools/benchmark.py configs/lcnet_fcos.py configs/demos/mobilenetv2_fcos.py \
        --checkpoints work_dirs/lcnet_fcos/best.pth work_dirs/mobilenetv2_fcos/best.pth --input-size 256 256

    # segmentors: mIoU from the checkpoint, latency at the config's crop size
    python tools/benchmark.py configs/demos/lcnet_deeplabv3plus_shapes.py \
        configs/peers/deeplabv3plus_mobilenet-v3-large_shapes.py --paths eager onnxruntime openvino

    # low precision: INT8 (calibrated on 100 validation images) and BF16 next to fp32, each path scored on
    # the test set and compared with eager fp32
    python tools/benchmark.py configs/lcnet_fcos.py --checkpoints work_dirs/lcnet_fcos/best.pth \
        --input-size 256 256 --paths eager eager-bf16 onnxruntime onnxruntime-int8 openvino openvino-int8 \
        openvino-bf16

A model is a config (mmpretrain classifier, mmdet single-stage detector or mmseg segmentor, this project's
or any other), ``timm:<name>`` (random weights) or ``transformers:<folder>`` (a Transformers model folder with
config.json and model.safetensors, timed eagerly as its users run it; needs the transformers package, which is
not a dependency of this project). ``--part backbone`` times only the backbone. Paths: eager, folded (BN folded),
folded-cl (+ channels-last), jit (trace + freeze), compile (torch.compile with inductor's freezing, on folded-cl;
its compile time is a column of its own), onnxruntime, openvino, and at low precision eager-bf16,
onnxruntime-int8, openvino-int8, openvino-bf16 (see lcnet_mm/benchmark/paths.py). INT8 layers kept in float:
--keep-float (rules stem, pooled, outputs, depthwise, or module:REGEX; "none" quantizes every layer).
Writes results.md, results.csv, results.json and latency.png to --out-dir.

Exit status 0 when every model/path pair was timed and no low-precision path lost more accuracy than its
tolerance (top-1 / mIoU 1 point, bbox mAP 0.01); 1 otherwise (a path a model cannot take, outputs that
differ from eager, an accuracy loss): their rows say why, and every file is written all the same. A BF16
path on a CPU without BF16 is reported as unavailable, which is not an error.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import os
import sys
import time

os.environ.setdefault('KINETO_LOG_LEVEL', '5')  # the profiler used for peak memory is chatty on stderr

from mmengine.config import DictAction

from lcnet_mm.apis import (
    add_debug_argument,
    add_quantization_arguments,
    check_quantization_arguments,
    checkpoint_exists,
    run_tool,
)
from lcnet_mm.benchmark import (
    PARTS,
    PATHS,
    TIMM_PREFIX,
    TRANSFORMERS_PREFIX,
    BenchmarkSettings,
    build_subject,
    markdown_table,
    plot,
    run_benchmark,
    write_csv,
    write_json,
)
from lcnet_mm.io import atomic_write


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CPU benchmark of classifiers, detectors, segmentors and backbones',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument('models', nargs='+', help='config files, timm:<model name> and/or transformers:<model folder>')
    parser.add_argument(
        '--checkpoints',
        nargs='+',
        default=None,
        help='one per model, "none" for random weights; a checkpoint adds accuracy',
    )
    parser.add_argument('--names', nargs='+', default=None, help='one label per model (default: file name)')
    parser.add_argument(
        '--part',
        nargs='+',
        default=['model'],
        choices=PARTS,
        help='what to time: model (up to raw outputs) or backbone; one value, or one per model',
    )
    parser.add_argument('--paths', nargs='+', default=['eager'], choices=PATHS, help='inference paths (default eager)')
    parser.add_argument(
        '--input-size',
        type=_positive(int),
        nargs=2,
        default=None,
        metavar=('H', 'W'),
        help="default: the first config's crop size (mmseg's data_preprocessor.size), else 224 224",
    )
    parser.add_argument('--threads', type=_positive(int), default=2, help='CPU threads for every runtime (default 2)')
    parser.add_argument('--warmup', type=int, default=10, help='untimed calls per model/path first (default 10)')
    parser.add_argument('--rounds', type=_positive(int), default=20, help='interleaved rounds (default 20)')
    parser.add_argument('--reps', type=_positive(int), default=5, help='timed calls per round (default 5)')
    parser.add_argument('--throughput-batch', type=int, default=16, help='batch of the throughput run, 0: skip')
    parser.add_argument('--throughput-rounds', type=int, default=5, help='timed batches per model (default 5)')
    parser.add_argument('--no-eval', action='store_true', help='skip accuracy even where a checkpoint is given')
    add_quantization_arguments(parser)
    parser.add_argument('--reference', help='row the "x ref" column divides by: NAME or NAME@PATH (default: first)')
    parser.add_argument('--out-dir', default=None, help='default work_dirs/benchmark/<timestamp>')
    parser.add_argument('--title', default='CPU latency', help='plot title')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings of every config')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    n = len(args.models)
    for option in ('checkpoints', 'names'):
        values = getattr(args, option)
        if values is not None and len(values) != n:
            parser.error(f'--{option} needs one value per model ({n}), got {len(values)}: {values}')
    if len(args.part) not in (1, n):
        parser.error(f'--part needs one value or one per model ({n}), got {len(args.part)}: {args.part}')
    if args.input_size is not None and min(args.input_size) < 32:
        parser.error(f'--input-size must be at least 32x32, got {list(args.input_size)}')
    if args.warmup < 0 or args.throughput_batch < 0 or args.throughput_rounds < 0:
        parser.error('--warmup, --throughput-batch and --throughput-rounds must be >= 0')
    check_quantization_arguments(parser, args)
    for model in args.models:
        if model.startswith(TRANSFORMERS_PREFIX):
            if not os.path.isdir(model[len(TRANSFORMERS_PREFIX) :]):
                parser.error(f'model {model!r}: no such Transformers model folder')
        elif not model.startswith(TIMM_PREFIX) and not os.path.isfile(model):
            parser.error(f'model {model!r} is neither a config file, timm:<name> nor transformers:<folder>')
    for checkpoint in args.checkpoints or []:
        # a file, or one behind a checkpoint scheme (paddle://, timm://, hf:// a folder): converted on load
        if checkpoint.lower() != 'none' and not checkpoint_exists(checkpoint):
            parser.error(f'checkpoint {checkpoint!r} does not exist')
    return args


def config_input_size(subject) -> tuple:
    """The input size a config trains at when it says so (mmseg: ``model.data_preprocessor.size``, its crop
    size), else 224x224."""
    size = None
    if subject.config is not None:
        size = (subject.config.model.get('data_preprocessor') or {}).get('size')
    return tuple(size) if size else (224, 224)


def main(argv=None):
    args = parse_args(argv)
    n = len(args.models)
    checkpoints = [None if (c or 'none').lower() == 'none' else c for c in (args.checkpoints or [None] * n)]
    parts = args.part * n if len(args.part) == 1 else args.part
    names = args.names or [None] * n
    subjects = [
        build_subject(spec, checkpoint, part, args.cfg_options, name)
        for spec, checkpoint, part, name in zip(args.models, checkpoints, parts, names)
    ]
    if len({s.name for s in subjects}) != n:
        raise SystemExit(f'error: two models share a name ({[s.name for s in subjects]}); give --names')
    out_dir = args.out_dir or os.path.join('work_dirs', 'benchmark', time.strftime('%Y%m%d_%H%M%S'))
    settings = BenchmarkSettings(
        input_size=tuple(args.input_size or config_input_size(subjects[0])),
        threads=args.threads,
        warmup=args.warmup,
        rounds=args.rounds,
        reps=args.reps,
        throughput_batch=args.throughput_batch,
        throughput_rounds=args.throughput_rounds,
        evaluate_accuracy=not args.no_eval,
        out_dir=out_dir,
        reference=args.reference,
        calibration=args.calib,
        keep_float=tuple(args.keep_float),
    )
    result = run_benchmark(subjects, args.paths, settings)

    table = markdown_table(result['rows'])
    machine = result['machine']
    header = (
        f'input {settings.input_size[0]}x{settings.input_size[1]}, {settings.threads} threads, '
        f'{machine["cpu"]} ({", ".join(machine["low_precision_flags"]) or "no VNNI/BF16 instructions"}); '
        f'torch {machine["torch"]}, onnxruntime {machine["onnxruntime"]}, openvino {machine["openvino"]}'
    )
    notes = [f'- {r["name"]} / {r["path"]}: {r["note"]}' for r in result['rows'] if r.get('note')]
    uncounted = sorted({op for r in result['rows'] for op in r.get('uncounted_ops') or []})
    if uncounted:
        notes.append(f'- FLOPs do not count: {", ".join(uncounted)}')
    text = '\n'.join([header, '', table] + ([''] + notes if notes else []))
    print(text)
    atomic_write(os.path.join(out_dir, 'results.md'), text + '\n')
    write_csv(result['rows'], os.path.join(out_dir, 'results.csv'))
    write_json(result, os.path.join(out_dir, 'results.json'))
    figure = plot(result['rows'], os.path.join(out_dir, 'latency.png'), args.title)
    print(f'\nwrote {out_dir}/results.md, results.csv, results.json' + (', latency.png' if figure else ''))
    rows = result['rows']
    untimed = [
        f'{r["name"]} / {r["path"]}' for r in rows if r.get('latency_median_ms') is None and not r.get('unavailable')
    ]
    lossy = [f'{r["name"]} / {r["path"]}' for r in rows if r.get('accuracy_loss')]
    if untimed:
        print(
            f'error: {len(untimed)} of {len(rows)} model/path pairs were not timed (see the notes): '
            f'{", ".join(untimed)}',
            file=sys.stderr,
        )
    if lossy:
        print(f'error: accuracy below eager fp32 by more than the tolerance: {", ".join(lossy)}', file=sys.stderr)
    return 1 if untimed or lossy else 0


if __name__ == '__main__':
    run_tool(main)
