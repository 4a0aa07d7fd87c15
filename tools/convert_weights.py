"""Convert PaddleClas (.pdparams) or timm (.pth / .safetensors) PP-LCNet weights to an lcnet-mm checkpoint.

    python tools/convert_weights.py PPLCNet_x1_0_pretrained.pdparams checkpoints/pplcnet_x1.0.pth
    python tools/convert_weights.py lcnet_100.safetensors checkpoints/lcnet_100.pth --backbone-only \
        --config configs/lcnet_fcos.py

The format and the width are read from the file itself. Nothing in the file is executed: pickles are
read by a loader that admits only numpy arrays, torch files with weights_only=True.
Use the result as ``load_from`` in a classification config, or in a detection config as
``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``.
"""

import argparse
import sys
from pathlib import Path

import torch

from lcnet_mm.converters import check_against_model, convert_weights
from lcnet_mm.io import UnsafeWeightFileError
from lcnet_mm.utils import build_model_from_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='PaddleClas .pdparams, timm .pth/.safetensors, or an lcnet-mm checkpoint')
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--backbone-only', action='store_true', help='keep only the backbone.* weights')
    parser.add_argument('--config', help="also check that the weights fit this config's backbone")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        convert(args)
    except (ValueError, FileNotFoundError, UnsafeWeightFileError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    return 0


def convert(args):
    checkpoint, info = convert_weights(args.src, backbone_only=args.backbone_only)
    print(
        f'{args.src}: {info["layout"]} PP-LCNet x{info["scale"]} ({info["file_kind"]} file'
        + (f', {info["num_classes"]} classes' if info['num_classes'] else '')
        + ')'
    )
    if args.config:
        model, _ = build_model_from_config(args.config)
        what = f'the backbone of {args.config} (PP-LCNet x{getattr(model.backbone, "scale", "?")})'
        check_against_model(checkpoint['state_dict'], model, f'{args.src} (PP-LCNet x{info["scale"]})', what)
        print(f'fits the backbone of {args.config}')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, args.dst)
    print(
        f'wrote {args.dst} ({len(checkpoint["state_dict"])} tensors'
        + (', backbone only' if args.backbone_only else '')
        + ')'
    )


if __name__ == '__main__':
    sys.exit(main())
