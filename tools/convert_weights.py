r"""Convert the PP-LCNet weights of another implementation to an lcnet-mm checkpoint.

PaddleClas / PaddleOCR PP-LCNet and PP-LCNetV2, PaddleDetection PicoDet, timm V1 and V2, and Hugging Face
Transformers files are read (the layouts of ``lcnet_mm.converters.FORMATS``):

    python tools/convert_weights.py PPLCNet_x1_0_pretrained.pdparams checkpoints/pplcnet_x1.0.pth
    python tools/convert_weights.py PPLCNetV2_base_ssld_pretrained.pdparams checkpoints/pplcnetv2_base_ssld.pth \
        --config configs/pplcnet_v2/pplcnetv2-base_8xb256_in1k.py
    python tools/convert_weights.py lcnet_100.safetensors checkpoints/lcnet_100.pth --backbone-only \
        --config configs/lcnet_fcos.py
    python tools/convert_weights.py picodet_s_320_coco_lcnet.pdparams checkpoints/picodet_s_320.pth \
        --config configs/picodet/picodet-s_pplcnet-x0.75_4xb64-300e_coco-320.py
    python tools/convert_weights.py PP-LCNet_x0_25_textline_ori_safetensors/ checkpoints/textline_ori.pth \
        --config configs/pplcnet_tasks/pplcnet-x0.25_textline-ori_80x160.py

The layout and the width are read from the file itself (a Transformers folder: from its config.json, strides
and class names included). Nothing in the file is executed: pickles are
read by a loader that admits only numpy arrays, torch files with weights_only=True.
Use a classifier's result as ``load_from`` in a classification config, or in a detection config as
``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=DST, prefix='backbone.')``; a PicoDet's result
as ``load_from`` in the PicoDet config of the same size (``--config`` checks every tensor against it).
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import re
import sys
from pathlib import Path

from mmengine.config import DictAction

from lcnet_mm.apis import add_debug_argument, build_model_from_config, run_tool
from lcnet_mm.converters import FORMATS, StateDictMismatchError, check_against_model, convert_weights
from lcnet_mm.io import UnsafeWeightFileError, torch_save_atomic
from lcnet_mm.models.heads.lcnet_cls_head import head_conv_bias_hint


def parse_args(argv=None):
    layouts = '\n'.join(f'  {f.name}: {f.origin}' + (f' (also {f.scheme}PATH)' if f.scheme else '') for f in FORMATS)
    parser = argparse.ArgumentParser(
        description=f'{__doc__.splitlines()[0]}\n\nLayouts read (detected from the file):\n{layouts}',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'src',
        help='.pdparams, timm .pth/.safetensors, a Transformers folder (or its safetensors), an lcnet-mm checkpoint',
    )
    parser.add_argument('dst', help='output checkpoint (.pth)')
    parser.add_argument('--backbone-only', action='store_true', help='keep only the backbone.* weights')
    parser.add_argument(
        '--config',
        help='also check that the weights fit the model this config builds (its backbone if the file holds only '
        'a backbone, or with --backbone-only)',
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings of --config')
    add_debug_argument(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        convert(args)
    except (ValueError, FileNotFoundError, UnsafeWeightFileError) as error:  # the converters name file and tensor
        if args.debug:
            raise
        print(f'error: {error}', file=sys.stderr)
        return 2
    return 0


def convert(args):
    checkpoint, info = convert_weights(args.src, backbone_only=args.backbone_only)
    picodet, lcnet_v2 = info.get('picodet'), info.get('lcnet_v2')
    if info.get('network'):  # a layout that names what it holds itself
        network = info['network']
    elif picodet:
        network = (
            f'PicoDet v{picodet["version"]} ({picodet["neck"]} {picodet["neck_channels"]}, PP-LCNet x{info["scale"]})'
        )
    elif lcnet_v2:
        network = f'PP-LCNetV2 {lcnet_v2["name"] or "(custom)"} x{info["scale"]:g} depths {lcnet_v2["depths"]}'
    else:
        network = f'PP-LCNet x{info["scale"]}'
        strides = info.get('backbone', {}).get('strides')
        if strides and strides != [2, 1, 2, 2, 2, 2]:
            network += f' strides {strides}'

    print(
        f'{args.src}: {info["layout"]} {network} ({info["file_kind"]} file'
        + (f', {info["num_classes"]} classes' if info.get('num_classes') else '')
        + (f': {", ".join(info["class_names"])}' if info.get('class_names') else '')
        + ')'
    )
    if args.config:
        model, _ = build_model_from_config(args.config, cfg_options=args.cfg_options)
        # The whole model is checked where the file holds more than a backbone and the model has those parts (a
        # classifier's file for a classifier): a head that loads with a tensor missing or left over computes other
        # logits without an error anywhere else. A classifier's file for a detector gives it its backbone only.
        parts = {key.partition('.')[0] for key in checkpoint['state_dict']}
        whole = not args.backbone_only and parts != {'backbone'} and all(hasattr(model, part) for part in parts)
        part = 'the model' if whole else 'the backbone'
        what = f'{part} of {args.config} ({_describe(model.backbone)})'
        try:
            check_against_model(checkpoint['state_dict'], model, f'{args.src} ({network})', what, whole_model=whole)
        except StateDictMismatchError as error:
            hint = _fit_hint(error, info)
            if hint:
                raise ValueError(f'{error}. {hint}') from None
            raise
        print(f'fits {part} of {args.config}')
    Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
    torch_save_atomic(checkpoint, args.dst)
    print(
        f'wrote {args.dst} ({len(checkpoint["state_dict"])} tensors'
        + (', backbone only' if args.backbone_only else '')
        + ')'
    )


def _fit_hint(error: StateDictMismatchError, info: dict) -> str:
    """The config option that makes the model fit the file, where one option does."""
    bias = head_conv_bias_hint(error.missing, error.unexpected)
    if bias:
        return f'{bias} (--cfg-options)'
    if error.missing or error.unexpected or not error.mismatched:
        return ''
    # Weights of another data set (PP-Structure's CDLA PicoDet: 10 classes, a PULC classifier: 2) differ only there.
    classes = info['num_classes']
    if all(re.match(r'bbox_head\.(cls_preds|gfl_cls)\.', key) for key in error.mismatched):
        return (
            f'Only the class predictions differ: the file has {classes} classes; use --cfg-options '
            f"model.bbox_head.num_classes={classes} (and the data set's metainfo classes), or the config of that "
            'data set'
        )
    if all(key.startswith('head.fc.') for key in error.mismatched):
        return (
            f'Only the classifier differs: the file has {classes} classes; use --cfg-options '
            f'model.head.num_classes={classes}'
        )
    return ''


def _describe(backbone) -> str:
    if type(backbone).__name__ == 'PPLCNetV2':
        return f'PP-LCNetV2 x{backbone.scale:g}, depths {list(backbone.depths)}'
    return f'PP-LCNet x{getattr(backbone, "scale", "?")}'


if __name__ == '__main__':
    run_tool(main)
