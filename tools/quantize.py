r"""Post-training INT8 quantization of a trained classifier, single-stage detector or segmentor for a CPU
runtime, with its accuracy on the config's test set next to fp32's in the same runtime.

    python tools/quantize.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best.pth work_dirs/lcnet_fcos_int8 \
        --backend openvino --calib 100
    python tools/quantize.py configs/demos/lcnet_cls_shapes_x1.0.py CKPT OUT --backend onnxruntime --keep-float stem

Steps: export the BN-folded network to OUT/NAME.onnx (as tools/export_onnx.py, dynamic shapes); take the
first --calib images of the config's validation set through the toolbox's own test pipeline and data
preprocessor; quantize (ONNX Runtime: static QDQ, per-channel int8 weights, uint8 activations, MinMax
ranges; OpenVINO: NNCF post-training quantization, mixed preset) into OUT/NAME-int8.onnx or
OUT/NAME-int8.xml + .bin; score fp32 and INT8 with the toolbox's metric on the test set. Layers kept in
float: --keep-float, rules resolved on the graph (stem: convs reading the image; pooled: convs on globally
pooled features, i.e. SE gates and the classifier head; outputs: the last conv before each output;
depthwise: depthwise convs) and module:REGEX on PyTorch module names; "none" quantizes everything.
OUT/quantization.json records it all.

The quantized model takes the same input as the fp32 graph (normalised images, N x 3 x H x W) and gives
the same outputs (see tools/export_onnx.py); tools/benchmark.py times it (paths onnxruntime-int8,
openvino-int8). Exit status 1 when INT8 falls below fp32 by more than the tolerance (top-1 / mIoU 1 point,
bbox mAP 0.01).
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import json
import os
import sys

from mmengine.config import DictAction

from lcnet_mm.apis import (
    add_debug_argument,
    add_quantization_arguments,
    check_quantization_arguments,
    checkpoint_exists,
    run_tool,
)
from lcnet_mm.benchmark import build_subject
from lcnet_mm.benchmark.accuracy import ACCURACY_TOLERANCE, evaluate_runtime
from lcnet_mm.benchmark.paths import DeployArtifacts
from lcnet_mm.deploy import BACKENDS, INT8_BACKENDS, example_input
from lcnet_mm.io import atomic_write


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='INT8 post-training quantization for ONNX Runtime or OpenVINO, scored against fp32',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__,
    )
    parser.add_argument('config', help='mmpretrain classification, mmdet single-stage detection or mmseg config')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('out_dir', help='directory for the fp32 ONNX, the INT8 model and quantization.json')
    parser.add_argument('--backend', choices=BACKENDS, required=True, help='runtime the INT8 model is for')
    add_quantization_arguments(parser)
    parser.add_argument('--threads', type=int, default=2, help='CPU threads of the runtime while scoring (2)')
    parser.add_argument('--no-eval', action='store_true', help='quantize only; do not score on the test set')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings of the config')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if not os.path.isfile(args.config):
        parser.error(f'config {args.config!r} does not exist')
    if not checkpoint_exists(args.checkpoint):
        parser.error(f'checkpoint {args.checkpoint!r} does not exist')
    if args.threads < 1:
        parser.error(f'--threads must be at least 1, got {args.threads}')
    check_quantization_arguments(parser, args)
    return args


def main(argv=None):
    args = parse_args(argv)
    subject = build_subject(args.config, args.checkpoint, cfg_options=args.cfg_options)
    if subject.kind not in ('classifier', 'detector', 'segmentor'):
        raise SystemExit(f'error: {args.config}: a {subject.kind} has no metric to score; quantize a whole model')
    os.makedirs(args.out_dir, exist_ok=True)
    example = example_input((224, 224))  # the export is dynamic in batch and size; this only traces it
    artifacts = DeployArtifacts(args.out_dir, calibration=args.calib, keep_float=args.keep_float)
    fp32_path = artifacts.onnx_file(subject, example)
    print(f'[quantize] fp32 graph: {fp32_path}; calibrating on {args.calib} validation images')
    int8_path, note = artifacts.int8_model_file(subject, args.backend, example)
    print(f'[quantize] INT8 model ({args.backend}): {int8_path}; {note}')
    runtime = INT8_BACKENDS[args.backend].runtime
    record = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        backend=args.backend,
        fp32_model=fp32_path,
        int8_model=int8_path,
        calibration_images=len(artifacts.calibration_images(subject, example)[0]),
        keep_float=args.keep_float,
        note=note,
    )
    status = 0
    if not args.no_eval:
        eval_dir = os.path.join(args.out_dir, 'eval')
        metric, fp32 = evaluate_runtime(subject, runtime(fp32_path, threads=args.threads), eval_dir)
        _, int8 = evaluate_runtime(subject, runtime(int8_path, threads=args.threads), eval_dir)
        tolerance = ACCURACY_TOLERANCE[metric]
        record.update(metric=metric, fp32=fp32, int8=int8, drop=fp32 - int8, tolerance=tolerance)
        print(f'\n| {args.backend} | {metric} |\n|---|---|\n| fp32 | {fp32:.4f} |\n| int8 | {int8:.4f} |')
        print(f'\nINT8 - fp32: {int8 - fp32:+.4f} (tolerance {tolerance:g})')
        if fp32 - int8 > tolerance:
            print(
                f'error: INT8 loses {fp32 - int8:.4f} {metric}, more than {tolerance:g}; keep more layers in '
                'float (--keep-float) or calibrate on more images (--calib)',
                file=sys.stderr,
            )
            status = 1
    atomic_write(os.path.join(args.out_dir, 'quantization.json'), json.dumps(record, indent=2))
    print(f'wrote {int8_path} and {os.path.join(args.out_dir, "quantization.json")}')
    return status


if __name__ == '__main__':
    run_tool(main)
