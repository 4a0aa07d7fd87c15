"""Plot validation accuracy against training wall time for one or more training runs.

    python tools/analysis/plot_map_vs_time.py work_dirs/lcnet_fcos work_dirs/mobilenetv2_fcos \
        --labels PP-LCNet MobileNetV2 --out docs/images/fcos_map_vs_time.png

Reads each run's ``vis_data/scalars.json`` (the newest one under the work dir), where ``TrainTimeHook``
records ``train_wall_s`` (training time, validation excluded) next to every validation result.
"""

import argparse
import json
from pathlib import Path


def read_curve(work_dir: Path, metric: str):
    runs = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    if not runs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}: is it an mmengine work dir?')
    points = []
    for line in runs[-1].read_text().splitlines():
        record = json.loads(line)
        if metric in record and 'train_wall_s' in record:
            points.append((record['train_wall_s'], record[metric]))
    if not points:
        raise ValueError(
            f'{runs[-1]} has no validation records with {metric!r} and train_wall_s '
            '(was TrainTimeHook in custom_hooks?)'
        )
    return points


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', help='mmengine work dirs of the runs to compare')
    parser.add_argument('--labels', nargs='+', help='one label per work dir (default: dir names)')
    parser.add_argument('--metric', default='coco/bbox_mAP', help='validation metric to plot')
    parser.add_argument('--out', default='map_vs_time.png', help='output PNG')
    parser.add_argument('--title', default='FCOS on the synthetic shapes set, 2-core CPU')
    args = parser.parse_args(argv)
    labels = args.labels or [Path(d).name for d in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        parser.error(f'{len(labels)} labels for {len(args.work_dirs)} work dirs')

    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    print(f'| run | {args.metric} by training minute |')
    print('|---|---|')
    for work_dir, label in zip(args.work_dirs, labels):
        points = read_curve(Path(work_dir), args.metric)
        minutes = [t / 60 for t, _ in points]
        values = [v for _, v in points]
        ax.plot(minutes, values, marker='o', label=f'{label} (final {values[-1]:.3f})')
        print(f'| {label} | ' + ', '.join(f'{m:.1f} min: {v:.3f}' for m, v in zip(minutes, values)) + ' |')
    ax.set_xlabel('training wall time, validation excluded (min)')
    ax.set_ylabel(args.metric)
    ax.set_title(args.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=120)
    print(f'saved {args.out}')


if __name__ == '__main__':
    main()
