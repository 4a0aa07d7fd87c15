"""Prune the PP-LCNet backbone of a trained classifier, detector or segmentor (Torch-Pruning's structured pruning),
and write the pruned model as a config plus a checkpoint that loads into it strictly.

    python tools/prune.py configs/lcnet_fcos.py work_dirs/lcnet_fcos/best.pth
        (--ratio R | --target-macs G | --target-latency MS | --target-latency-of CONFIG)
        [--latency-path eager|folded-cl|openvino|...] [--importance l1|l2|fpgm] [--allocation uniform|global]
        [--round-to 8] [--steps N --finetune-budget S] [--distill] [--work-dir DIR] [--input-size H W]

``--ratio``: the share of the prunable channels removed. ``--target-macs`` (GMACs) / ``--target-latency`` (ms,
batch 1, timed here on ``--latency-path``) / ``--target-latency-of`` (another config's model, timed beside this
one): the least ratio that meets it, searched. ``--steps N``: the ratio reached in N
prunings with ``--finetune-budget`` seconds of training (the config's own recipe, fitted to that time) after
each but the last. Writes ``<DIR>/<name>_pruned.py`` (the original config as its base, the backbone's ``widths``,
what the next modules take, ``load_from`` the pruned checkpoint) and ``<DIR>/<name>_pruned.pth`` (default DIR:
``work_dirs/<name>_pruned``), each atomically, and prints per stage the widths before and after with the MACs,
parameters and latency of both. ``--distill`` adds ``<name>_pruned_distill.py``: the same model learning from the
unpruned one. Every tool takes the pair as any config and checkpoint: fine-tune with ``tools/train.py
<name>_pruned.py`` (it starts from ``load_from``), score with ``tools/test.py``.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import copy
import dataclasses
import os.path as osp
import pprint
import tempfile

import torch
from mmengine.config import Config, DictAction

from lcnet_mm.apis import (
    add_debug_argument,
    build_checked_runner,
    build_model_from_config,
    load_config,
    run_tool,
    set_time_budget,
)
from lcnet_mm.benchmark import Subject
from lcnet_mm.benchmark.measures import count_flops, count_parameters, interleaved_timings, summarize
from lcnet_mm.benchmark.paths import LOW_PRECISION_PATHS, PATH_TABLE, PathInputs, build_path
from lcnet_mm.deploy import RawOutputs, example_input
from lcnet_mm.deploy.pruning import (
    ALLOCATIONS,
    IMPORTANCES,
    PruneSettings,
    check_rebuilds,
    distillation_changes,
    kept_layer_names,
    prunable_backbone,
    prune_model,
    pruned_config_changes,
    search_ratio,
    step_ratios,
)
from lcnet_mm.io import atomic_write, load_checkpoint, torch_save_atomic
from lcnet_mm.utils import ConfigError

# fp32 paths a latency target can be measured on (compile: minutes per candidate)
LATENCY_PATHS = tuple(name for name in PATH_TABLE if name not in LOW_PRECISION_PATHS and name != 'compile')


def positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f'must be > 0, got {text}')
        return value

    return parse


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Prune the PP-LCNet backbone of a trained model')
    parser.add_argument('config', help='config of the trained model')
    parser.add_argument('checkpoint', help='its trained checkpoint')
    amount = parser.add_mutually_exclusive_group(required=True)
    amount.add_argument('--ratio', type=float, help='share of the prunable channels removed, in (0, 1)')
    amount.add_argument('--target-macs', type=positive(float), metavar='G', help='GMACs (batch 1) to prune down to')
    amount.add_argument(
        '--target-latency', type=positive(float), metavar='MS', help='latency (batch 1, timed here) to prune down to'
    )
    amount.add_argument(
        '--target-latency-of', metavar='CONFIG', help="prune down to the latency of this config's model (timed here)"
    )
    parser.add_argument(
        '--latency-path',
        choices=LATENCY_PATHS,
        default='eager',
        help='how the latency targets and the table time the model (default eager; openvino: as deployed)',
    )
    parser.add_argument('--importance', choices=IMPORTANCES, default='l1', help='group importance (default l1)')
    parser.add_argument('--allocation', choices=ALLOCATIONS, default='uniform', help='default uniform')
    parser.add_argument('--round-to', type=int, default=8, help='every pruned width a multiple of this (default 8)')
    parser.add_argument('--steps', type=positive(int), default=1, help='prune in this many steps (default 1)')
    parser.add_argument(
        '--finetune-budget', type=positive(float), metavar='S', help='seconds of training after each step but the last'
    )
    parser.add_argument('--distill', action='store_true', help='also write a config that learns from the unpruned')
    parser.add_argument('--work-dir', help='where the pruned config and checkpoint go (work_dirs/<name>_pruned)')
    parser.add_argument(
        '--input-size', type=int, nargs=2, default=(224, 224), metavar=('H', 'W'), help='traced and timed input size'
    )
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    if args.steps > 1 and args.finetune_budget is None:
        parser.error(f'--steps {args.steps} needs --finetune-budget S: the seconds of training between the steps')
    if args.steps == 1 and args.finetune_budget is not None:
        parser.error('--finetune-budget is the training between steps: give --steps 2 or more')
    try:
        args.settings = PruneSettings(args.ratio, args.importance, args.allocation, args.round_to)
    except ValueError as error:
        parser.error(str(error))
    return args


class LatencyTimer:
    """Median latency (batch 1) of models on one of the benchmark's paths, timed interleaved; each network is
    prepared for its path once (folded, exported to ONNX for a runtime) in a temporary folder."""

    def __init__(self, path: str, images: torch.Tensor):
        self.path, self.images, self.runners = path, images, {}
        self.folder = tempfile.TemporaryDirectory(prefix='prune-latency-')
        self.inputs = PathInputs(images, threads=torch.get_num_threads(), onnx_dir=self.folder.name)

    def runner(self, name: str, network):
        if name not in self.runners:
            subject = Subject(name, 'pruned', None, 'model', network, network, 'module')
            self.runners[name] = build_path(self.path, subject, self.inputs)
        return self.runners[name]

    def __call__(self, networks: dict, rounds: int = 10) -> dict:
        runners = {name: self.runner(name, network) for name, network in networks.items()}
        with torch.inference_mode():
            calls = {name: (lambda run=run: run(self.images)) for name, run in runners.items()}
            timings = interleaved_timings(calls, warmup=3, rounds=rounds, reps=3)
        for name in networks:  # a candidate is timed once: its runtime (threads, memory) is let go
            if name.startswith('ratio '):
                del self.runners[name]
        return {name: summarize(samples)['median_ms'] for name, samples in timings.items()}


def measure(models: dict, timer: LatencyTimer) -> dict:
    """MACs, parameters and latency (batch 1, interleaved) of each network."""
    networks = {name: RawOutputs(model).eval() for name, model in models.items()}
    rows = {
        name: dict(params_m=count_parameters(network) / 1e6, macs_g=count_flops(network, timer.images)['flops'] / 1e9)
        for name, network in networks.items()
    }
    for name, value in timer(networks).items():  # 'original' may be prepared already: the same network
        rows[name]['latency_ms'] = value
    return rows


def model_changes(cfg: Config, pruned) -> dict:
    """The ``model`` settings that make ``cfg`` build the ``pruned`` network."""
    changes = pruned_config_changes(pruned)
    backbone_cfg = cfg.model.get('backbone', {})
    if isinstance(backbone_cfg.get('init_cfg'), dict) and backbone_cfg['init_cfg'].get('type') == 'Pretrained':
        changes['backbone']['init_cfg'] = None  # the unpruned weights would not fit; load_from has the pruned ones
    return changes


def rebuilt(cfg: Config, pruned):
    """The model ``cfg`` with the pruned widths builds, holding ``pruned``'s weights (a module pruned in place keeps
    attributes of its own from before, such as a head's in_channels, which its forward checks)."""
    changed = copy.deepcopy(cfg)
    changed.merge_from_dict(dict(model=model_changes(cfg, pruned)))
    model, _ = build_model_from_config(changed)
    check_rebuilds(pruned, model)
    return model.eval()


def target_score(args, cfg, original, images, timer: LatencyTimer):
    """(the target as given, its value, the function of a ratio that measures the model pruned at it)."""

    def pruned_at(ratio):
        model = copy.deepcopy(original)
        if ratio > 0:
            prune_model(model, images, dataclasses.replace(args.settings, ratio=ratio))
            model = rebuilt(cfg, model)
        return RawOutputs(model).eval()

    if args.target_macs is not None:
        macs = lambda ratio: count_flops(pruned_at(ratio), images)['flops'] / 1e9  # noqa: E731
        return f'--target-macs {args.target_macs:g}', args.target_macs, macs
    reference = RawOutputs(original).eval()
    if args.target_latency_of is None:
        what, target = f'--target-latency {args.target_latency:g}', args.target_latency
        unpruned_ms = timer(dict(original=reference), rounds=20)['original']
    else:  # the other model timed beside the original, its latency the target
        other, _ = build_model_from_config(load_config(args.target_latency_of))
        timed = timer(dict(original=reference, other=RawOutputs(other.eval()).eval()), rounds=20)
        unpruned_ms, target = timed['original'], timed['other']
        what = f'--target-latency-of {osp.basename(args.target_latency_of)} ({target:.2f} ms)'

    def latency(ratio):  # timed beside the original, so a slower moment of the machine scales both
        if ratio == 0:
            return unpruned_ms
        timed = timer(dict(original=reference, **{f'ratio {ratio:.4f}': pruned_at(ratio)}))
        return unpruned_ms * timed[f'ratio {ratio:.4f}'] / timed['original']

    return what, target, latency


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


def config_text(base: str, settings: dict, checkpoint=None, note='the pruned model of the base config') -> str:
    lines = [f'# Written by tools/prune.py: {note}.']
    lines.append(f'_base_ = {base!r}\n')
    for key, value in settings.items():
        lines.append(f'{key} = {pprint.pformat(value, width=116, sort_dicts=False)}\n')
    if checkpoint is not None:
        lines.append(f'load_from = {checkpoint!r}')
    return '\n'.join(lines) + '\n'


def write_pair(args, cfg, model, folder: str, name: str, meta: dict):
    """Write the pruned ``model`` as ``<folder>/<name>_pruned.py`` + ``.pth``; return the model that config builds,
    holding its weights (a module pruned in place keeps attributes of its own from before, such as a head's
    in_channels), and the config's path."""
    changes = model_changes(cfg, model)
    config_path, checkpoint_path = osp.join(folder, f'{name}_pruned.py'), osp.join(folder, f'{name}_pruned.pth')
    text = config_text(
        osp.abspath(args.config), written_settings(args.cfg_options, changes), osp.abspath(checkpoint_path)
    )
    with tempfile.TemporaryDirectory() as trial_dir:  # the config as written must build the pruned model
        trial = osp.join(trial_dir, f'{name}_pruned.py')
        with open(trial, 'w') as f:
            f.write(text)
        rebuilt, _ = build_model_from_config(trial)
    check_rebuilds(model, rebuilt)
    torch_save_atomic(dict(state_dict=rebuilt.state_dict(), meta=meta), checkpoint_path)
    atomic_write(config_path, text)
    return rebuilt.eval(), config_path


def fine_tune(config_path: str, folder: str, seconds: float, distill_config=None):
    """Train the written pair for ``seconds`` (its recipe fitted to them); the trained weights in the model its
    config builds."""
    cfg = load_config(distill_config or config_path)
    cfg.work_dir = osp.join(folder, 'fine_tune')
    set_time_budget(cfg, seconds)
    runner = build_checked_runner(cfg, loaders=('train_dataloader', 'val_dataloader'))
    runner.train()
    model, _ = build_model_from_config(config_path)
    model.load_state_dict(runner.model.state_dict(), strict=True)  # a distilled student holds only its own weights
    return model.eval()


def print_table(args, rows, original, model, ratio):
    before, after = original.backbone.stage_channels, model.backbone.stage_channels  # both built from a config
    head = ['head conv'] if 'head_channels' in pruned_config_changes(model).get('head', {}) else []
    print(f'| | {" | ".join(f"stage {i}" for i in range(len(before)))} |{"".join(f" {h} |" for h in head)} '
          'MACs (G) | params (M) | latency (ms) |')  # fmt: skip
    print(f'|---|{"---|" * (len(before) + len(head) + 3)}')
    for label, widths, built in (('original', before, original), ('pruned', after, model)):
        row = rows[label]
        cells = [*map(str, widths), *([str(built.head.head_conv.conv.out_channels)] if head else [])]
        cells += [f'{row["macs_g"]:.3f}', f'{row["params_m"]:.3f}', f'{row["latency_ms"]:.2f}']
        print(f'| {label} | {" | ".join(cells)} |')
    print(
        f'pruned {ratio:.1%} ({args.settings.importance}, {args.settings.allocation}, {args.steps} step(s)): MACs x'
        f'{rows["pruned"]["macs_g"] / rows["original"]["macs_g"]:.2f}, latency x'
        f'{rows["pruned"]["latency_ms"] / rows["original"]["latency_ms"]:.2f} (batch 1, {args.input_size}, '
        f'{args.latency_path}, '
        f'{torch.get_num_threads()} threads)'
    )


def main(argv=None):
    args = parse_args(argv)
    cfg = load_config(args.config, args.cfg_options)
    model, _ = build_model_from_config(cfg)
    prunable_backbone(model)  # a named error before anything is read or traced
    teacher = (osp.abspath(args.config), osp.abspath(args.checkpoint))
    distill = distillation_changes(model, *teacher) if args.distill else None  # likewise
    load_checkpoint(model, args.checkpoint, strict=True)
    model.eval()
    print(f'output widths kept: {", ".join(kept_layer_names(model))} (their inputs follow the backbone)')
    original = copy.deepcopy(model)
    images = example_input(tuple(args.input_size))
    timer = LatencyTimer(args.latency_path, images)

    ratio = args.ratio
    if ratio is None:
        what, target, score = target_score(args, cfg, original, images, timer)
        ratio, reached = search_ratio(score, target, what)
        print(f'{what}: ratio {ratio:.3f} reaches {reached:.4g}')
    name = osp.splitext(osp.basename(args.config))[0]
    work_dir = args.work_dir or osp.join('work_dirs', f'{name}_pruned')
    meta = dict(
        pruning=dict(
            vars(dataclasses.replace(args.settings, ratio=ratio)),
            steps=args.steps,
            config=teacher[0],
            checkpoint=str(args.checkpoint),
        )
    )
    distill_config = None
    for step, step_ratio in enumerate(step_ratios(ratio, args.steps), start=1):
        prune_model(model, images, dataclasses.replace(args.settings, ratio=step_ratio))
        last = step == args.steps
        folder = work_dir if last else osp.join(work_dir, f'step_{step}')
        model, config_path = write_pair(args, cfg, model, folder, name, meta)
        if distill is not None:
            distill_config = osp.join(folder, f'{name}_pruned_distill.py')
            note = 'the pruned model learning from the unpruned one (its checkpoints: the pruned model alone)'
            atomic_write(distill_config, config_text(f'./{name}_pruned.py', dict(model=distill), note=note))
        if not last:
            print(f'step {step} of {args.steps}: pruned {step_ratio:.1%} of what was left; fine-tuning')
            model = fine_tune(config_path, folder, args.finetune_budget, distill_config)

    rows = measure(dict(original=original, pruned=model), timer)
    print_table(args, rows, original, model, ratio)
    print(f'wrote {config_path} and its checkpoint' + (f', and {distill_config}' if distill_config else ''))


if __name__ == '__main__':
    run_tool(main)
