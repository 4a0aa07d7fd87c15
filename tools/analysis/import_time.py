"""How long importing lcnet-mm takes beside the toolbox alone, each in a fresh process, interleaved (every round
runs every case once, in turn) so that the machine's drift reaches all cases alike; medians and ratios printed.

    python tools/analysis/import_time.py [--rounds 5]

Cases: ``import mmdet`` against ``import lcnet_mm``, and an mmdet user's whole start (mmdet's modules registered,
the PP-LCNet FCOS of ``configs/lcnet_fcos.py`` built) against mmdet's own FCOS config (ResNet-50) built the same
way: what lcnet-mm adds to a toolbox's start.
"""

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = (
    'from mmdet.registry import MODELS; from mmdet.utils import register_all_modules; register_all_modules(); '
    '{load}; MODELS.build(cfg.model)'
)
CASES = {
    'import mmdet': 'import mmdet',
    'import lcnet_mm': 'import lcnet_mm',
    "mmdet's FCOS (ResNet-50) built": BUILD.format(
        load='from mmengine.hub import get_config; '
        "cfg = get_config('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py')"
    ),
    'FCOS on PP-LCNet built': BUILD.format(
        load="from mmengine.config import Config; cfg = Config.fromfile('configs/lcnet_fcos.py')"
    ),
}
PAIRS = (('import lcnet_mm', 'import mmdet'), ('FCOS on PP-LCNet built', "mmdet's FCOS (ResNet-50) built"))


def seconds(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, '-c', code], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5, help='fresh processes per case (default 5)')
    args = parser.parse_args(argv)
    for code in CASES.values():  # warm the file cache once
        seconds(code)
    times = {name: [] for name in CASES}
    for i in range(args.rounds):
        for name in list(CASES)[:: 1 if i % 2 == 0 else -1]:
            times[name].append(seconds(CASES[name]))
    medians = {name: statistics.median(values) for name, values in times.items()}
    print('| case | median s | runs |\n|---|---|---|')
    for name, value in medians.items():
        print(f'| {name} | {value:.2f} | {", ".join(f"{t:.2f}" for t in times[name])} |')
    for ours, theirs in PAIRS:
        print(f'{ours} / {theirs}: {medians[ours] / medians[theirs]:.2f}x')


if __name__ == '__main__':
    main()
