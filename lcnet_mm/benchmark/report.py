"""Benchmark results as a markdown table, CSV, JSON and a Pareto plot."""

import csv
import io
import json
import math
from typing import Dict, List, Optional

from lcnet_mm.io import atomic_write

COLUMNS = [
    # (key, header, format)
    ('name', 'model', '{}'),
    ('path', 'path', '{}'),
    ('params_m', 'params (M)', '{:.2f}'),
    ('gflops', 'GFLOPs', '{:.3f}'),
    ('latency_median_ms', 'latency b1 median (ms)', '{:.2f}'),
    ('latency_p90_ms', 'p90 (ms)', '{:.2f}'),
    ('ratio', 'x ref', '{:.2f}'),
    ('compile_s', 'compile (s)', '{:.1f}'),
    ('throughput_ips', 'throughput (img/s)', '{:.1f}'),
    ('peak_memory_mib', 'peak mem b1, eager (MiB)', '{:.1f}'),
    ('accuracy', 'accuracy', '{:.3f}'),
    ('accuracy_drop', 'drop vs eager fp32', '{:.3f}'),
    ('max_abs_diff', 'max diff vs eager', '{:.1e}'),
]


def _cell(row: Dict, key: str, fmt: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return fmt.format(value)


def markdown_table(rows: List[Dict], columns: Optional[List] = None) -> str:
    """Rows as a markdown table with ``columns`` ``(key, header, format)`` (default: the inference benchmark's)."""
    columns = columns or COLUMNS
    headers = [header for _, header, _ in columns]
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join('---' for _ in headers) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(_cell(row, key, fmt) for key, _, fmt in columns) + ' |')
    return '\n'.join(lines)


def write_csv(rows: List[Dict], path: str):
    keys = [key for key, _, _ in COLUMNS] + ['metric', 'uncounted_ops', 'note']
    text = io.StringIO(newline='')
    writer = csv.DictWriter(text, fieldnames=keys, extrasaction='ignore')
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (';'.join(row[k]) if isinstance(row.get(k), list) else row.get(k)) for k in keys})
    atomic_write(path, text.getvalue())


def write_json(result: Dict, path: str):
    atomic_write(path, json.dumps(result, indent=2, default=str))


def pareto_front(points: List[tuple], maximize_y: bool) -> List[int]:
    """Indices of the points no other point beats: lower x (latency) and better y."""
    front = []
    for i, (x, y) in enumerate(points):
        dominated = any(
            (x2 <= x and (y2 >= y if maximize_y else y2 <= y)) and (x2, y2) != (x, y)
            for j, (x2, y2) in enumerate(points)
            if j != i
        )
        if not dominated:
            front.append(i)
    return front


def plot(rows: List[Dict], path: str, title: str) -> Optional[str]:
    """Latency against accuracy where rows have one (checkpoint given; one panel per metric when the rows
    mix classifiers, detectors, segmentors), else against GFLOPs; in each panel the Pareto front (the
    fastest for its accuracy, or for its compute) is joined and ringed."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    timed = [r for r in rows if r.get('latency_median_ms') is not None]
    if not timed:
        return None
    panels = {}
    for r in timed:
        if r.get('accuracy') is not None:
            panels.setdefault(r.get('metric') or 'accuracy', []).append(r)
    # Accuracy where at least two rows have one (paths or models to compare), else compute.
    panels = {metric: group for metric, group in panels.items() if len(group) >= 2}
    maximize = bool(panels)
    if not panels:
        panels = {'GFLOPs': [r for r in timed if r.get('gflops') is not None]}
    names = sorted({r['name'] for r in timed})
    paths = sorted({r['path'] for r in timed})
    fig, axes = plt.subplots(1, len(panels), figsize=(8 * len(panels), 5.5), squeeze=False)
    for ax, (label, group) in zip(axes[0], panels.items()):
        _plot_panel(ax, group, 'accuracy' if maximize else 'gflops', label, maximize, names, paths)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _plot_panel(ax, rows: List[Dict], y_key: str, y_label: str, maximize: bool, names: List, paths: List):
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    points = [(r['latency_median_ms'], r[y_key]) for r in rows]
    front = pareto_front(points, maximize_y=maximize)
    markers = 'osD^v<>pP*Xh'
    colors = plt.get_cmap('tab10')
    for r, (x, y) in zip(rows, points):
        marker = markers[names.index(r['name']) % len(markers)]
        ax.scatter(x, y, marker=marker, color=colors(paths.index(r['path']) % 10), s=50, zorder=3)
    for name in sorted({r['name'] for r in rows}):
        ax.scatter([], [], marker=markers[names.index(name) % len(markers)], color='gray', label=name)
    for p in sorted({r['path'] for r in rows}):
        ax.scatter([], [], marker='s', color=colors(paths.index(p) % 10), label=f'path: {p}')
    front_points = sorted(points[i] for i in front)
    ax.plot([p[0] for p in front_points], [p[1] for p in front_points], 'k--', lw=1, zorder=2, label='Pareto front')
    ax.scatter(
        [p[0] for p in front_points], [p[1] for p in front_points], s=160, facecolors='none', edgecolors='k', zorder=4
    )
    ax.set_xscale('log')
    plain = matplotlib.ticker.FuncFormatter(lambda value, _: f'{value:g}')
    ax.xaxis.set_major_formatter(plain)
    ax.xaxis.set_minor_formatter(plain)
    ax.tick_params(axis='x', which='minor', labelsize=7)
    ax.set_xlabel('latency, batch 1 (ms, median, log scale)')
    ax.set_ylabel(y_label)
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7, loc='best')
