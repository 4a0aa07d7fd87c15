r"""Training throughput, side by side in one process: iterations per second of the real training iteration
(data loading, train_step, every hook) of each config in each mode, timed interleaved.

    python tools/benchmark_train.py configs/lcnet_fcos.py configs/demos/mobilenetv2_fcos.py \
        --modes fp32-nchw fp32 amp --reference "lcnet_fcos fp32-nchw"

Modes: ``auto`` (the config as it is: its TrainingModeHook measures the candidate modes over the first
iterations and trains in the fastest; the row says which), ``fp32`` (float32, channels-last activations),
``amp`` (as ``tools/train.py --amp``: BF16 autocast on a CPU with native BF16, float16 on CUDA), either with
``-nchw`` (contiguous activations) and/or ``-compile`` (``torch.compile`` with inductor of the model's networks;
the time of the first, untimed iterations, where compilation happens, is its own column).
``--profile N`` adds torch profiler's table of the costliest operators over N more iterations per pair.
Writes results.md and results.json to --out-dir.
"""

import warnings

# The stack (mmengine, mmdet, mmseg) imports pkg_resources, whose deprecation warnings are not this tool's
# output; filtered here, where the tool starts, not by importing lcnet_mm.
warnings.filterwarnings('ignore', message='pkg_resources is deprecated', category=UserWarning)

import argparse
import json
import os
import time

import torch
from mmengine.config import DictAction

from lcnet_mm.apis import add_debug_argument, run_tool
from lcnet_mm.benchmark.report import markdown_table
from lcnet_mm.benchmark.training import MODE_HELP, parse_mode, training_throughput
from lcnet_mm.io import atomic_write
from lcnet_mm.utils import native_bf16_features

COLUMNS = [
    ('name', 'config', '{}'),
    ('mode', 'mode', '{}'),
    ('s_per_iter', 's / iteration (median)', '{:.3f}'),
    ('p90_s', 'p90 (s)', '{:.3f}'),
    ('it_per_s', 'iterations / s', '{:.2f}'),
    ('speedup', 'x ref', '{:.2f}'),
    ('first_iterations_s', 'first iterations (s)', '{:.1f}'),
    ('note', 'note', '{}'),
]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__
    )
    parser.add_argument('configs', nargs='+', help='training configs')
    parser.add_argument('--modes', nargs='+', default=['fp32', 'amp'], help=MODE_HELP)
    parser.add_argument(
        '--warmup', type=int, default=3, help='untimed (and separately timed) first iterations per pair (default 3)'
    )
    parser.add_argument('--rounds', type=int, default=4, help='interleaved rounds (default 4)')
    parser.add_argument('--reps', type=int, default=5, help='timed iterations per pair and round (default 5)')
    parser.add_argument('--reference', help='row the "x ref" column divides by, "CONFIG MODE" (default: first)')
    parser.add_argument(
        '--profile', type=int, default=0, metavar='N', help='also profile N iterations per pair (torch profiler)'
    )
    parser.add_argument('--out-dir', default=None, help='default work_dirs/benchmark_train/<timestamp>')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override settings of every config')
    add_debug_argument(parser)
    args = parser.parse_args(argv)
    for config in args.configs:
        if not os.path.isfile(config):
            parser.error(f'config {config!r} does not exist')
    for mode in args.modes:
        try:
            parse_mode(mode)
        except ValueError as error:
            parser.error(str(error))
    if args.warmup < 0 or args.rounds < 1 or args.reps < 1:
        parser.error('--warmup must be >= 0, --rounds and --reps >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir = args.out_dir or os.path.join('work_dirs', 'benchmark_train', time.strftime('%Y%m%d_%H%M%S'))
    os.makedirs(out_dir, exist_ok=True)
    rows = training_throughput(
        args.configs,
        args.modes,
        out_dir,
        args.warmup,
        args.rounds,
        args.reps,
        args.cfg_options,
        args.reference,
        args.profile,
    )
    bf16 = native_bf16_features()
    header = (
        f'training throughput, {torch.get_num_threads()} threads, torch {torch.__version__}; native BF16: '
        f'{", ".join(bf16) if bf16 else "none (amp runs float32)"}'
    )
    text = header + '\n\n' + markdown_table(rows, COLUMNS)
    for row in rows:
        if row.get('profile'):
            text += f'\n\n{row["key"]}: the operators that took most CPU time over {args.profile} iterations\n\n'
            text += '```\n' + row['profile'].strip() + '\n```'
    print(text)
    atomic_write(os.path.join(out_dir, 'results.md'), text + '\n')
    summary = dict(rows=rows, bf16_features=list(bf16), threads=torch.get_num_threads())
    atomic_write(os.path.join(out_dir, 'results.json'), json.dumps(summary, indent=1))
    print(f'\nwrote {out_dir}/results.md, results.json')
    return 0


if __name__ == '__main__':
    run_tool(main)
