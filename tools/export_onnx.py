r"""Export a classifier, a single-stage detector or a segmentor to ONNX, then check the graph against PyTorch.

    python tools/export_onnx.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best.pth lcnet_fcos.onnx
    python tools/export_onnx.py configs/pplcnet/pplcnet-x1.0_8xb256_in1k.py pplcnet_x1.0.pth pplcnet.onnx
    python tools/export_onnx.py configs/demos/lcnet_deeplabv3plus_shapes.py \
        work_dirs/lcnet_deeplabv3plus_shapes/best_mIoU_iter_400.pth seg.onnx

The graph has one input ``images`` (N, 3, H, W), already normalised as the config's data preprocessor
does (mean/std, RGB), with N, H and W dynamic. Outputs:
- classifier: ``logits`` (N, num_classes); softmax outside.
- detector: the head's raw maps per FPN level, named after the arguments of the head's
  ``predict_by_feat`` (FCOS: ``cls_scores.L`` (N, classes, H/s, W/s) logits, ``bbox_preds.L`` (N, 4, H/s, W/s)
  distances in pixels, ``score_factors.L`` centerness logits). Box decoding and NMS run outside the
  graph: ``lcnet_mm.deploy.decode_detections(model, outputs, (H, W))`` applies the config's test_cfg.
- segmentor: ``seg_logits`` (N, num_classes, H, W), the decode head's logits resized to the input; the label
  map is their argmax over classes.

By default the BN-folded form is exported (``switch_to_deploy``). After export the graph runs in ONNX
Runtime on two input shapes and the largest difference from PyTorch is printed; for detectors also the
decoded boxes are compared, for segmentors the label maps. Differences are judged per kind of output
(logits, each of a detector's cls_scores, bbox_preds, ... over all levels) relative to that kind's scale, its
largest absolute value: float32 rounding grows with the values, which a trained model makes large (logits
in tens, FCOS box distances in hundreds of pixels). The file is written only if every check passes (the
graph is checked in a temporary file beside it, renamed into place); otherwise exit status 1 and nothing
is written.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import sys

import torch
from mmengine.config import DictAction

from lcnet_mm.apis import add_debug_argument, build_model_from_config, run_tool
from lcnet_mm.deploy import ONNX_TOLERANCE, decode_detections, export_onnx, model_kind, onnx_parity
from lcnet_mm.io import atomic_file

# Pixels whose two best classes tie within float rounding may flip; anything beyond that is a wrong graph.
LABEL_AGREEMENT = 0.999


class ParityFailed(Exception):
    """The exported graph does not compute what the model computes: the file is not written."""


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a model to ONNX and check it against PyTorch')
    parser.add_argument('config', help='mmpretrain classification, mmdet single-stage detection or mmseg config')
    parser.add_argument(
        'checkpoint', help='checkpoint (training or folded form, see --cfg-options); "none" exports random weights'
    )
    parser.add_argument('out', help='ONNX file to write')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=(224, 224),
        metavar=('H', 'W'),
        help='input size traced and checked first (default 224 224)',
    )
    parser.add_argument('--static', action='store_true', help='fixed batch 1 and --input-size instead of dynamic')
    parser.add_argument('--no-fold', action='store_true', help='export the batch norms as they are')
    parser.add_argument('--opset', type=int, default=18, help='ONNX opset (default 18)')
    parser.add_argument(
        '--tolerance',
        type=float,
        default=ONNX_TOLERANCE,
        help='largest allowed difference of each kind of output relative to its scale (its largest absolute '
        f"value); default {ONNX_TOLERANCE:g} (ONNX Runtime's sigmoid rounds tiny probabilities to 0)",
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if any(size < 32 for size in args.input_size):
        parser.error(f'--input-size must be at least 32x32 (the network downsamples 32x), got {args.input_size}')
    if not args.out.endswith('.onnx'):
        parser.error(f'out must be a .onnx file, got {args.out!r}')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    model, _ = build_model_from_config(args.config, checkpoint, args.cfg_options)
    kind = model_kind(model)
    try:
        with atomic_file(args.out, suffix='.onnx') as graph:  # renamed into place only if the block ends well
            names = export_onnx(
                model, str(graph), args.input_size, dynamic=not args.static, fold=not args.no_fold, opset=args.opset
            )
            print(
                f'exported {kind}: input images (N, 3, H, W){" dynamic" if not args.static else ""}, '
                f'outputs {", ".join(names)}'
            )
            if not parity_holds(model, kind, str(graph), args):
                raise ParityFailed
    except ParityFailed:
        print(
            f'error: the ONNX graph differs from PyTorch beyond --tolerance {args.tolerance:g} (see above); '
            f'{args.out} not written',
            file=sys.stderr,
        )
        return 1
    print(f'wrote {args.out}')
    return 0


def parity_holds(model, kind: str, graph: str, args) -> bool:
    """Run the graph in ONNX Runtime on two input shapes, print every comparison with PyTorch; whether all pass."""
    height, width = args.input_size
    shapes = [(1, 3, height, width)] if args.static else [(1, 3, height, width), (2, 3, height + 32, width + 64)]
    ok = True
    for result in onnx_parity(model, graph, shapes):
        passed = all(row['relative'] <= args.tolerance for row in result['by_kind'])
        ok &= passed
        kinds = ', '.join(
            f'{row["kind"]} {row["max_abs_diff"]:.2e} of {row["scale"]:.3g} ({row["relative"]:.1e})'
            for row in result['by_kind']
        )
        print(
            f'parity ONNX Runtime vs PyTorch, input {result["shape"]}: max abs diff of scale (relative): {kinds} '
            f'{"ok" if passed else "FAILED"} (tolerance {args.tolerance:g} relative)'
        )
        if kind == 'detector':
            size = result['shape'][2:]
            ours = decode_detections(model, result['outputs'], size)
            torch_side = decode_detections(model, result['expected'], size)
            same_count = all(len(a) == len(b) for a, b in zip(ours, torch_side))
            box_diff = max(
                ((a.bboxes - b.bboxes).abs().max().item() if len(a) and same_count else 0.0)
                for a, b in zip(ours, torch_side)
            )
            passed = same_count and box_diff <= args.tolerance * max(size)  # coordinates go up to the image size
            ok &= passed
            print(
                f'  decoded + NMS: {[len(a) for a in ours]} boxes vs PyTorch {[len(b) for b in torch_side]}, '
                f'max box diff {box_diff:.2e} px {"ok" if passed else "FAILED"}'
            )
        if kind == 'segmentor':
            ours, torch_side = (torch.as_tensor(r[0]).argmax(1) for r in (result['outputs'], result['expected']))
            agreement = (ours == torch_side).float().mean().item()
            passed = agreement >= LABEL_AGREEMENT
            ok &= passed
            print(
                f'  label maps: {agreement:.5%} of pixels agree '
                f'{"ok" if passed else "FAILED"} (>= {LABEL_AGREEMENT:.1%})'
            )
    return ok


if __name__ == '__main__':
    run_tool(main)
