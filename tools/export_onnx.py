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
decoded boxes are compared, for segmentors the label maps. Exit status 1 if a difference exceeds --tolerance
(absolute for outputs up to 1, relative to the largest value for larger ones: FCOS box distances are in
pixels, up to hundreds).
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import sys
from pathlib import Path

import torch
from mmengine.config import DictAction

from lcnet_mm.apis import build_model_from_config
from lcnet_mm.deploy import decode_detections, export_onnx, model_kind, onnx_parity

# Pixels whose two best classes tie within float rounding may flip; anything beyond that is a wrong graph.
LABEL_AGREEMENT = 0.999


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
        default=1e-4,
        help='largest allowed difference (1e-4): absolute, or relative for outputs above 1',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
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
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    names = export_onnx(
        model, args.out, args.input_size, dynamic=not args.static, fold=not args.no_fold, opset=args.opset
    )
    print(
        f'wrote {args.out}: {kind}, input images (N, 3, H, W){" dynamic" if not args.static else ""}, '
        f'outputs {", ".join(names)}'
    )

    height, width = args.input_size
    shapes = [(1, 3, height, width)] if args.static else [(1, 3, height, width), (2, 3, height + 32, width + 64)]
    ok = True
    for result in onnx_parity(model, args.out, shapes):
        passed = result['max_scaled_diff'] <= args.tolerance
        ok &= passed
        print(
            f'parity ONNX Runtime vs PyTorch, input {result["shape"]}: max abs diff {result["max_abs_diff"]:.2e} '
            f'(largest output {result["max_abs_output"]:.3g}; relative to outputs above 1: '
            f'{result["max_scaled_diff"]:.2e}) {"ok" if passed else "FAILED"} (tolerance {args.tolerance:g})'
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
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
