"""CPU benchmarks of backbones on their downstream tasks: size, FLOPs, memory, latency, throughput and
accuracy, measured side by side (``tools/benchmark.py``)."""

from .paths import PATHS
from .report import markdown_table, pareto_front, plot, write_csv, write_json
from .run import BenchmarkSettings, run_benchmark
from .subjects import PARTS, TIMM_PREFIX, TRANSFORMERS_PREFIX, Subject, build_subject

__all__ = [
    'BenchmarkSettings',
    'PATHS',
    'PARTS',
    'Subject',
    'TIMM_PREFIX',
    'TRANSFORMERS_PREFIX',
    'build_subject',
    'markdown_table',
    'pareto_front',
    'plot',
    'run_benchmark',
    'write_csv',
    'write_json',
]
