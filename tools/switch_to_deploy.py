"""Fold the batch norms of a trained checkpoint into its convolutions (the inference form).

    python tools/switch_to_deploy.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best.pth deploy/lcnet_fcos_deploy.pth

The folded checkpoint loads into the same config with the folded parts built folded (the tool prints the
options, e.g. ``model.backbone.deploy=True`` for FCOS, backbone, neck and bbox_head for PicoDet):

    python tools/test.py configs/lcnet_fcos.py deploy/lcnet_fcos_deploy.pth --cfg-options model.backbone.deploy=True

Every part of the model with a ``switch_to_deploy()`` (PPLCNet, PPLCNetV2, LCNetClsHead, LCPAN, CSPPAN, PicoHeadV2,
PicoHead) is switched (PPLCNetV2 also merges its multi-branch depthwise convs); the outputs of
the folded model are compared with the original's on a random input and the difference printed, per kind of
output relative to that kind's scale (as ``export_onnx.py`` judges its graph). If one differs by more than
``--tolerance`` nothing is written and the exit status is 1.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import copy
import sys
from pathlib import Path

from mmengine.config import DictAction

from lcnet_mm.apis import add_debug_argument, build_model_from_config, load_config, run_tool
from lcnet_mm.deploy import RawOutputs, differences_by_kind, example_input, model_outputs, switch_to_deploy
from lcnet_mm.io import torch_save_atomic


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Fold BN into conv in a checkpoint (inference form)')
    parser.add_argument('config', help='config of the checkpoint')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('out', help='folded checkpoint to write (.pth)')
    parser.add_argument(
        '--input-size',
        type=int,
        nargs=2,
        default=(224, 224),
        metavar=('H', 'W'),
        help='input size of the parity check (default 224 224)',
    )
    parser.add_argument(
        '--tolerance',
        type=float,
        default=1e-4,
        help='largest difference of each kind of output relative to its scale (its largest absolute value); '
        'default 1e-4',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    folded_parts = [
        part for part in ('backbone', 'neck', 'bbox_head', 'head') if (cfg.model.get(part) or {}).get('deploy')
    ]
    if folded_parts:
        raise SystemExit(
            f'error: {args.config} already builds the folded {", ".join(folded_parts)} (deploy=True); give the '
            'training config, whose checkpoint has batch norms'
        )
    model, cfg = build_model_from_config(cfg, args.checkpoint)
    folded = copy.deepcopy(model)
    switched = switch_to_deploy(folded)
    if not switched:
        raise SystemExit(f'error: nothing in the model of {args.config} has a deploy form (switch_to_deploy)')
    nested = [name for name in switched if '.' in name]
    if nested:  # a block folded inside a part that cannot be built folded: the checkpoint would not load
        raise SystemExit(f'error: {", ".join(nested)} would be folded inside parts that have no deploy form')
    x = example_input(args.input_size, batch_size=2, seed=0)
    expected = model_outputs(model, x)
    rows = differences_by_kind(model_outputs(folded, x), expected, RawOutputs(model).output_names(expected))
    kinds = ', '.join(f'{r["kind"]} {r["max_abs_diff"]:.2e} of {r["scale"]:.3g} ({r["relative"]:.1e})' for r in rows)
    print(f'folded {", ".join(switched)}; max abs difference of the outputs, of their scale (relative): {kinds}')
    worst = max(row['relative'] for row in rows)
    if not worst <= args.tolerance:
        print(
            f"error: the folded model differs from the original by {worst:.2e} of the outputs' scale (> --tolerance "
            f'{args.tolerance:g}); {args.out} not written',
            file=sys.stderr,
        )
        return 1
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch_save_atomic(
        {'state_dict': folded.state_dict(), 'meta': {'deploy': True, 'source': str(args.checkpoint)}}, args.out
    )
    # Only parts built by a deploy flag: a head whose switch only drops its dropout keeps its state dict.
    options = ' '.join(
        f'model.{name}.deploy=True' for name in switched if hasattr(folded.get_submodule(name), 'deploy')
    )
    print(f'wrote {args.out}; load it with --cfg-options {options}')
    return 0


if __name__ == '__main__':
    run_tool(main)
