"""Is pruning worth it? PP-LCNet x1.0 pruned to the size of a narrower width and fine-tuned, against that width
trained from scratch in the same CPU time, on the embedded sets: the shapes classifier and the FCOS main job.

    python tools/analysis/pruning_study.py [--tasks cls det] [--budget-cls 300] [--budget-det 540]
                                           [--work-dir work_dirs/pruning_study]

For each task, with the same training budget B for every model:
- every width of the family trained from scratch for B seconds (its recipe fitted to B, as any budgeted run);
- x1.0 trained for B/2, pruned (Torch-Pruning, L1, uniform) to the MACs of a narrower width, then fine-tuned for
  what is left of B after the pruning (whose wall time counts) with the same recipe fitted to that time.
Then one benchmark run of every final model, side by side: latency (batch 1, 2 threads) eager, folded
channels-last, OpenVINO fp32 and OpenVINO INT8, with the accuracy of each path on the test set, MACs and parameters.
It writes ``<task>.md`` (the table) and ``<task>.png`` (accuracy against OpenVINO latency, the widths as the
reference curve) into the work dir. A step whose result is there already is not run again: an interrupted study
resumes where it stopped.
"""

import argparse
import json
import os
import os.path as osp
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PATHS = ('eager', 'folded-cl', 'openvino', 'openvino-int8')


@dataclass(frozen=True)
class Task:
    widths: Dict[str, str]  # width name -> config, widest first (the pruned models start from the first)
    pruned_to: Tuple[str, ...]  # the narrower widths the widest is pruned to
    input_size: Tuple[int, int]  # where latency is timed
    metric: str


TASKS = {
    'cls': Task(
        widths={
            'x1.0': 'configs/pruning/pplcnet-x1.0_shapes.py',
            'x0.75': 'configs/pruning/pplcnet-x0.75_shapes.py',
            'x0.5': 'configs/demos/lcnet_cls_shapes.py',
        },
        pruned_to=('x0.75', 'x0.5'),
        input_size=(224, 224),  # trained at 64 px, timed at the ImageNet size: at 64 px eager time is overhead
        metric='top-1 (%)',
    ),
    'det': Task(
        widths={'x1.0': 'configs/lcnet_fcos.py', 'x0.75': 'configs/pruning/fcos_pplcnet-x0.75_shapes.py'},
        pruned_to=('x0.75',),
        input_size=(320, 320),
        metric='bbox mAP',
    ),
}


def run(command, log_path: str) -> float:
    """Run a tool to completion with its output in ``log_path``; its wall time in seconds."""
    start = time.monotonic()
    with open(log_path, 'w') as log:
        proc = subprocess.run([sys.executable, *map(str, command)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        raise SystemExit(f'failed ({proc.returncode}): {" ".join(map(str, command))}; see {log_path}')
    return time.monotonic() - start


def train(config: str, work_dir: str, budget: float) -> dict:
    """Train ``config`` for ``budget`` seconds (unless done already): its last checkpoint and training seconds."""
    record = osp.join(work_dir, 'study.json')
    if not osp.exists(record):
        os.makedirs(work_dir, exist_ok=True)
        log = osp.join(work_dir, 'train.out')
        run(['tools/train.py', config, '--work-dir', work_dir, '--time-budget', f'{budget:.1f}'], log)
        with open(log) as f:
            seconds = float(re.findall(r'trained ([\d.]+) s of the', f.read())[-1])
        with open(osp.join(work_dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
        with open(record, 'w') as f:
            json.dump(dict(config=config, checkpoint=checkpoint, train_s=seconds, budget_s=budget), f)
    with open(record) as f:
        return json.load(f)


def macs_of(config: str, input_size) -> float:
    import torch

    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.measures import count_flops
    from lcnet_mm.deploy import RawOutputs

    model, _ = build_model_from_config(osp.join(ROOT, config))
    return count_flops(RawOutputs(model.eval()).eval(), torch.zeros(1, 3, *input_size))['flops'] / 1e9


def prune_and_fine_tune(task: Task, start: dict, target: str, work_dir: str, budget: float) -> dict:
    """x1.0's half-budget model pruned to ``target``'s MACs and fine-tuned for the rest of ``budget``."""
    record = osp.join(work_dir, 'study.json')
    if osp.exists(record):
        with open(record) as f:
            return json.load(f)
    os.makedirs(work_dir, exist_ok=True)
    widest = next(iter(task.widths.values()))
    macs = macs_of(task.widths[target], task.input_size)
    size = [str(v) for v in task.input_size]
    prune_s = run(
        ['tools/prune.py', widest, start['checkpoint'], '--target-macs', f'{macs:.6f}', '--input-size', *size,
         '--work-dir', osp.join(work_dir, 'pruned')],
        osp.join(work_dir, 'prune.out'),
    )  # fmt: skip
    name = osp.splitext(osp.basename(widest))[0]
    fine_tune_budget = budget - start['train_s'] - prune_s
    tuned = train(osp.join(work_dir, 'pruned', f'{name}_pruned.py'), osp.join(work_dir, 'fine_tune'), fine_tune_budget)
    result = dict(
        config=tuned['config'],
        checkpoint=tuned['checkpoint'],
        train_s=start['train_s'] + tuned['train_s'],
        prune_s=prune_s,
        budget_s=budget,
    )
    with open(record, 'w') as f:
        json.dump(result, f)
    return result


def study(name: str, task: Task, budget: float, work_dir: str) -> None:
    models = {}
    for width, config in task.widths.items():
        models[width] = train(config, osp.join(work_dir, f'{name}_{width}'), budget)
    widest = next(iter(task.widths))
    half = train(task.widths[widest], osp.join(work_dir, f'{name}_{widest}_half'), budget / 2)
    for target in task.pruned_to:
        label = f'{widest} pruned to {target}'
        models[label] = prune_and_fine_tune(task, half, target, osp.join(work_dir, f'{name}_pruned_{target}'), budget)
    bench = osp.join(work_dir, f'{name}_benchmark')
    if not osp.exists(osp.join(bench, 'results.json')):
        run(
            ['tools/benchmark.py', *[m['config'] for m in models.values()],
             '--checkpoints', *[m['checkpoint'] for m in models.values()], '--names', *models,
             '--paths', *PATHS, '--input-size', *task.input_size, '--throughput-batch', '0', '--out-dir', bench],
            osp.join(work_dir, f'{name}_benchmark.out'),
        )  # fmt: skip
    with open(osp.join(bench, 'results.json')) as f:
        rows = json.load(f)['rows']
    write_report(name, task, models, rows, work_dir)


def write_report(name: str, task: Task, models: dict, rows: list, work_dir: str) -> None:
    by = {(row['name'], row['path']): row for row in rows}
    header = ['model', 'training (s)', 'pruning (s)', 'GMACs', 'params (M)']
    header += [f'{path} ms' for path in PATHS] + [f'{task.metric} {path}' for path in PATHS]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for label, model in models.items():
        first = by[(label, 'eager')]
        cells = [label, f'{model["train_s"]:.0f}', f'{model["prune_s"]:.0f}' if 'prune_s' in model else '-']
        cells += [f'{first["gflops"]:.3f}', f'{first["params_m"]:.2f}']
        cells += [_cell(by.get((label, path)), 'latency_median_ms', '{:.2f}') for path in PATHS]
        cells += [_cell(by.get((label, path)), 'accuracy', '{:.3f}' if name == 'det' else '{:.1f}') for path in PATHS]
        lines.append('| ' + ' | '.join(cells) + ' |')
    with open(osp.join(work_dir, f'{name}.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))
    plot(name, task, models, by, osp.join(work_dir, f'{name}.png'))


def _cell(row: Optional[dict], key: str, form: str) -> str:
    return form.format(row[key]) if row and row.get(key) is not None else '-'


def plot(name: str, task: Task, models: dict, by: dict, path: str) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for axis, runtime in zip(axes, ('openvino', 'openvino-int8')):
        family = [(by[(w, runtime)]['latency_median_ms'], by[(w, runtime)].get('accuracy'), w) for w in task.widths]
        family = sorted(f for f in family if f[1] is not None)
        axis.plot([f[0] for f in family], [f[1] for f in family], 'o-', color='tab:blue', label='widths, from scratch')
        for x, y, label in family:
            axis.annotate(label, (x, y), textcoords='offset points', xytext=(4, -10))
        for label in models:
            if label in task.widths or by.get((label, runtime), {}).get('accuracy') is None:
                continue
            row = by[(label, runtime)]
            axis.plot(row['latency_median_ms'], row['accuracy'], 's', color='tab:red')
            axis.annotate(label, (row['latency_median_ms'], row['accuracy']), textcoords='offset points',
                          xytext=(4, 4), color='tab:red')  # fmt: skip
        axis.set_xlabel(f'latency, batch 1, {runtime} (ms)')
        axis.grid(alpha=0.3)
    axes[0].set_ylabel(task.metric)
    axes[0].legend(loc='upper right')
    fig.suptitle(f'{name}: x1.0 pruned + fine-tuned (red) vs. narrower widths (blue), same training time')
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', nargs='+', choices=tuple(TASKS), default=tuple(TASKS))
    parser.add_argument('--budget-cls', type=float, default=300, help='training seconds per classifier (300)')
    parser.add_argument('--budget-det', type=float, default=540, help='training seconds per detector (540)')
    parser.add_argument('--work-dir', default='work_dirs/pruning_study')
    args = parser.parse_args(argv)
    sys.path.insert(0, ROOT)
    work_dir = osp.abspath(args.work_dir)
    for name in args.tasks:
        study(name, TASKS[name], args.budget_cls if name == 'cls' else args.budget_det, work_dir)


if __name__ == '__main__':
    main()
