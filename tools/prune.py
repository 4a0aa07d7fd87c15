"""Prune the PP-LCNet backbone of a trained classifier or detector (Torch-Pruning's structured pruning), and write the
pruned model as a config plus a checkpoint that loads into it strictly.

    python tools/prune.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best.pth --ratio 0.3 [--importance l1|l2|fpgm]
                          [--allocation uniform|global] [--round-to 8] [--work-dir DIR] [--input-size H W]

writes ``<DIR>/<name>_pruned.py`` (the original config as its base, the backbone's ``widths``, the next module's
``in_channels``, ``load_from`` the pruned checkpoint) and ``<DIR>/<name>_pruned.pth`` (default DIR:
``work_dirs/<name>_pruned``), each atomically, and prints per stage the widths before and after with the MACs,
parameters and latency (batch 1, eager) of both. Every tool takes the pair as any config and checkpoint: fine-tune
with ``tools/train.py <name>_pruned.py`` (it starts from ``load_from``), score with ``tools/test.py``.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import copy
import os.path as osp
import pprint
import tempfile

import torch
from mmengine.config import Config, DictAction

from lcnet_mm.apis import add_debug_argument, build_model_from_config, load_config, run_tool
from lcnet_mm.benchmark.measures import count_flops, count_parameters, interleaved_timings, summarize
from lcnet_mm.deploy import RawOutputs, example_input
from lcnet_mm.deploy.pruning import (
    ALLOCATIONS,
    IMPORTANCES,
    PruneSettings,
    check_rebuilds,
    prunable_backbone,
    prune_model,
    pruned_config_changes,
)
from lcnet_mm.io import atomic_write, load_checkpoint, torch_save_atomic
from lcnet_mm.utils import ConfigError


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Prune the PP-LCNet backbone of a trained model')
    parser.add_argument('config', help='config of the trained model')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    parser.add_argument('--ratio', type=float, required=True, help='share of the prunable channels removed, in (0, 1)')
    parser.add_argument('--importance', choices=IMPORTANCES, default='l1', help='group importance (default l1)')
    parser.add_argument('--allocation', choices=ALLOCATIONS, default='uniform', help='default uniform')
    parser.add_argument('--round-to', type=int, default=8, help='every pruned width a multiple of this (default 8)')
    parser.add_argument('--work-dir', help='where the pruned config and checkpoint go (work_dirs/<name>_pruned)')
    parser.add_argument(
        '--input-size', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'), help='traced and timed input size'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    try:
        args.settings = PruneSettings(args.ratio, args.importance, args.allocation, args.round_to)
    except ValueError as error:
        parser.error(str(error))
    return args


def measure(models: dict, images: torch.Tensor) -> dict:
    """MACs, parameters and eager latency (batch 1, interleaved) of each network."""
    networks = {name: RawOutputs(model).eval() for name, model in models.items()}
    rows = {
        name: dict(params_m=count_parameters(network) / 1e6, macs_g=count_flops(network, images)['flops'] / 1e9)
        for name, network in networks.items()
    }
    with torch.inference_mode():
        runners = {name: (lambda n=network: n(images)) for name, network in networks.items()}
        timings = interleaved_timings(runners, warmup=3, rounds=10, reps=3)
    for name, samples in timings.items():
        rows[name]['latency_ms'] = summarize(samples)['median_ms']
    return rows


def written_settings(cfg_options, changes: dict) -> dict:
    """The top-level settings the pruned config writes over its base: ``--cfg-options`` (nested) with the model's
    pruned widths merged in."""
    options = Config()
    for key in cfg_options or {}:
        if any(part.isdigit() for part in key.split('.')):
            raise ConfigError(
                f'--cfg-options {key}: a list index cannot be carried into the pruned config; edit it there'
            )
    options.merge_from_dict(dict(cfg_options or {}))
    options.merge_from_dict(dict(model=changes))
    return options.to_dict()


def config_text(base: str, settings: dict, checkpoint: str) -> str:
    lines = ['# Written by tools/prune.py: the pruned model of the base config, its weights in load_from.']
    lines.append(f'_base_ = {base!r}\n')
    for key, value in settings.items():
        lines.append(f'{key} = {pprint.pformat(value, width=116, sort_dicts=False)}\n')
    lines.append(f'load_from = {checkpoint!r}')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    model, _ = build_model_from_config(cfg)
    prunable_backbone(model)  # a named error before anything is read or traced
    load_checkpoint(model, args.checkpoint, strict=True)
    original = copy.deepcopy(model)
    images = example_input(tuple(args.input_size))

    prune_model(model, images, args.settings)
    changes = pruned_config_changes(model)
    backbone_cfg = cfg.model.get('backbone', {})
    if isinstance(backbone_cfg.get('init_cfg'), dict) and backbone_cfg['init_cfg'].get('type') == 'Pretrained':
        changes['backbone']['init_cfg'] = None  # the unpruned weights would not fit; load_from has the pruned ones
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_pruned')
    config_path, checkpoint_path = osp.join(work_dir, f'{name}_pruned.py'), osp.join(work_dir, f'{name}_pruned.pth')
    text = config_text(
        osp.abspath(args.config), written_settings(args.cfg_options, changes), osp.abspath(checkpoint_path)
    )
    with tempfile.TemporaryDirectory() as folder:  # the config as written must build the pruned model
        trial = osp.join(folder, f'{name}_pruned.py')
        with open(trial, 'w') as f:
            f.write(text)
        rebuilt, _ = build_model_from_config(trial)
    check_rebuilds(model, rebuilt)
    # From here on the rebuilt model: what the written pair gives (a module pruned in place keeps attributes of its
    # own from before, such as a head's in_channels)
    model = rebuilt.eval()

    rows = measure(dict(original=original, pruned=model), images)
    before, after = original.backbone.stage_channels, model.backbone.stage_channels  # both built from a config
    print(f'| | {" | ".join(f"stage {i}" for i in range(len(before)))} | MACs (G) | params (M) | latency (ms) |')
    print(f'|---|{"---|" * (len(before) + 3)}')
    for label, widths in (('original', before), ('pruned', after)):
        row = rows[label]
        cells = [*map(str, widths), f'{row["macs_g"]:.3f}', f'{row["params_m"]:.3f}', f'{row["latency_ms"]:.2f}']
        print(f'| {label} | {" | ".join(cells)} |')
    print(
        f'pruned {args.settings.ratio:.0%} ({args.settings.importance}, {args.settings.allocation}): MACs x'
        f'{rows["pruned"]["macs_g"] / rows["original"]["macs_g"]:.2f}, latency x'
        f'{rows["pruned"]["latency_ms"] / rows["original"]["latency_ms"]:.2f} (batch 1, {args.input_size}, eager)'
    )
    meta = dict(
        pruning=dict(vars(args.settings), config=osp.abspath(args.config), checkpoint=str(args.checkpoint)),
    )
    torch_save_atomic(dict(state_dict=model.state_dict(), meta=meta), checkpoint_path)
    atomic_write(config_path, text)
    print(f'wrote {config_path} and {checkpoint_path}')


if __name__ == '__main__':
    run_tool(main)
