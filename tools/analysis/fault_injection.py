"""Kill a real training run at many instants, resume it each time, and check that nothing is lost.

    python tools/analysis/fault_injection.py [--work-dir work_dirs/fault_injection]
                                             [--checkpoint-hook AtomicCheckpointHook|CheckpointHook]

The run: PP-LCNet x0.5 on the embedded shapes classification set (``configs/demos/lcnet_cls_shapes.py``, made
small: 160 training images of 32 px, 3 epochs of 20 iterations, a validation and a best checkpoint every
epoch, ``max_keep_ckpts=1``, deterministic data). It is trained once without interruption, then again in
segments: each segment resumes (``--resume``, with the runner ``tools/train.py`` builds:
``lcnet_mm.apis.build_checked_runner``) and is killed at the next instant of the plan:

- ``train k`` / ``val e.j``: SIGKILL right after training iteration k or validation iteration j of epoch e;
- ``saving e``: SIGKILL sent from outside as soon as the run logs that it saves epoch e's checkpoint, so
  that it lands while the checkpoint is gathered, serialized or written;
- ``write epoch e @ f`` / ``write best e @ f``: the process is terminated by the kernel when the file the
  checkpoint is written to reaches the fraction f of its size (RLIMIT_FSIZE armed just before the write,
  SIGXFSZ at its default action): a kill in the middle of the write, at a chosen byte;
- ``full disk``: no kill; the segment runs with a file-size limit of half a checkpoint, so its next
  checkpoint write fails as on a full disk. The run must stop with an error naming the file, leaving the
  previous checkpoint and ``last_checkpoint`` whole, and the next segment resumes from them.

After every kill it checks what a resume or a user would read: every ``*.pth`` of the work dir is a whole
zip archive (CRCs checked), ``last_checkpoint`` names a whole checkpoint, and a best checkpoint exists once
one was saved. At the end the resumed run's last and best checkpoints must hold the uninterrupted run's
weights. Prints a Markdown table and writes ``results.json`` into the work dir; exits 1 if anything was
lost. ``--checkpoint-hook CheckpointHook`` runs the same plan with mmengine's own hook, for comparison.

Each segment is a child forked from this process after the stack and the config's toolbox are imported (a
segment starts in about a second instead of six); this process runs no torch operation until the last child has
ended, so that forking it stays safe.
"""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / 'configs' / 'demos' / 'lcnet_cls_shapes.py'
EPOCHS, TRAIN_IMAGES, BATCH = 3, 160, 8
ITERS_PER_EPOCH = TRAIN_IMAGES // BATCH


def small_run(data_root: Path, hook: str) -> dict:
    """The config changes (``--cfg-options``) that make the demo a small, deterministic run."""
    return {
        'train_dataloader.dataset.data_root': str(data_root),
        'val_dataloader.dataset.data_root': str(data_root),
        'train_dataloader.dataset.num_images': TRAIN_IMAGES,
        'val_dataloader.dataset.num_images': 40,
        'train_dataloader.dataset.image_size': 32,
        'val_dataloader.dataset.image_size': 32,
        'train_dataloader.batch_size': BATCH,
        'val_dataloader.batch_size': 20,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'train_dataloader.dataset.pipeline.1.prob': 0.0,  # no random flips: a resumed run sees the same images
        'model.head.dropout_ratio': 0.0,  # nor random dropout
        'train_cfg.max_epochs': EPOCHS,
        'param_scheduler.1.T_max': EPOCHS,
        'param_scheduler.1.end': EPOCHS,
        'param_scheduler.0.end': 4,
        'optim_wrapper.optimizer.lr': 0.003,  # validation accuracy 20 %, 22.5 %, 17.5 %: a new best at epoch 2
        'default_hooks.checkpoint.type': hook,
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'default_hooks.logger.interval': 1,
        'default_hooks.training_mode.precision': 'fp32',
        'default_hooks.training_mode.memory_format': 'channels_last',
    }


@dataclass(frozen=True)
class Kind:
    """A kind of instant: what the tables call it, and how one instant of it is named."""

    label: str
    name: Callable[[object], str]


KINDS = {
    'train': Kind('after a training iteration', lambda where: f'train {where}'),
    'val': Kind('after a validation iteration', lambda where: f'val {where[0]}.{where[1]}'),
    'saving': Kind('from outside, while a checkpoint is saved', lambda where: f'saving {where}'),
    'write epoch': Kind(
        'mid-write of a periodic checkpoint, at a chosen byte', lambda where: f'write epoch {where[0]} @ {where[1]:.0%}'
    ),
    'write best': Kind(
        'mid-write of the best checkpoint, at a chosen byte', lambda where: f'write best {where[0]} @ {where[1]:.0%}'
    ),
    # no kill: the segment runs with a file-size limit below a checkpoint's size, so that its next checkpoint
    # write fails as on a full disk
    'full disk': Kind('a full disk (file-size limit), no kill', lambda where: 'full disk (no kill)'),
    'none': Kind('none: the run to its end', lambda where: 'none: run to the end'),
}
# The plan, in the order a run reaches the instants (a segment resumes from the last checkpoint, so each
# instant lies after the previous one's resume point): (kind, where).
PLAN = [
    ('train', 3),
    ('train', 15),
    ('saving', 1),
    ('write epoch', (1, 0.5)),
    ('write epoch', (1, 0.0)),
    ('val', (1, 1)),
    ('write best', (1, 0.5)),
    ('val', (1, 2)),
    ('train', 25),
    ('train', 40),
    ('saving', 2),
    ('write epoch', (2, 0.99)),
    ('write epoch', (2, 0.3)),
    ('val', (2, 1)),
    ('write best', (2, 0.5)),
    ('write best', (2, 0.95)),
    ('val', (2, 2)),
    ('train', 41),
    ('full disk', None),
    ('train', 55),
    ('saving', 3),
    ('write epoch', (3, 0.6)),
    ('write epoch', (3, 0.05)),
    ('val', (3, 1)),
    ('val', (3, 2)),
]


def describe(kind: Optional[str], where) -> str:
    return KINDS[kind or 'none'].name(where)


def import_the_stack() -> None:
    """Import here, once, what every segment's runner imports: lcnet_mm's tools API and the parts of the config's
    toolbox the runner looks up (models, data sets, metrics, hooks, visualiser). Imports only: no torch operation."""
    import importlib

    from lcnet_mm.apis import load_config, toolbox_of

    toolbox = toolbox_of(load_config(str(CONFIG)))
    for part in ('models', 'datasets', 'evaluation', 'engine', 'visualization'):
        importlib.import_module(f'{toolbox}.{part}')


def build_segment_runner(work_dir: Path, resume: bool, options: dict):
    """The runner of one segment, as ``tools/train.py CONFIG --work-dir DIR [--resume] --cfg-options ...``
    builds it."""
    from lcnet_mm.apis import build_checked_runner, build_runner_config

    cfg = build_runner_config(str(CONFIG), str(work_dir), options)
    if resume:
        cfg.resume, cfg.load_from = True, None  # the latest checkpoint of the work dir
    return build_checked_runner(cfg)


def fault_hook(kind, where):
    """An mmengine hook (an instance, not registered anywhere) that kills its own process at one instant."""
    from mmengine.hooks import Hook

    def kill():
        sys.stdout.flush()
        os.kill(os.getpid(), signal.SIGKILL)

    class Fault(Hook):
        priority = 'LOWEST'  # after every other hook, WeightsOnlyCheckpointHook's changes included

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if kind == 'train' and runner.iter + 1 == where:
                kill()

        def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            if kind == 'val' and (runner.epoch, batch_idx + 1) == where:
                kill()

        def before_save_checkpoint(self, runner, checkpoint):
            if not kind.startswith('write'):
                return
            epoch, fraction = where
            is_best = 'optimizer' not in checkpoint
            if checkpoint['meta'].get('epoch') != epoch or is_best != (kind == 'write best'):
                return
            import io

            import torch

            buffer = io.BytesIO()
            torch.save(checkpoint, buffer)
            size = len(buffer.getvalue())
            print(f'fault: the next file write stops at byte {max(1, int(size * fraction))} of {size}', flush=True)
            resource.setrlimit(resource.RLIMIT_FSIZE, (max(1, int(size * fraction)), resource.RLIM_INFINITY))
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # Python ignores it; the kernel's default terminates

        def after_val_epoch(self, runner, metrics=None):
            if kind == 'write best' and runner.epoch == where[0]:
                print('fault: no new best checkpoint at this epoch; killed after validation instead', flush=True)
                kill()

    return Fault()


def run_segment(work_dir: Path, resume: bool, options: dict, kind, where, log_path: Path):
    """Fork a child that trains (killed at the instant, if given); returns (how it ended, its output)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: train, never return into the caller's code
        code = 1
        try:
            os.close(read_fd)
            os.dup2(write_fd, 1)
            os.dup2(write_fd, 2)
            sys.stdout = open(1, 'w', buffering=1, closefd=False)
            sys.stderr = open(2, 'w', buffering=1, closefd=False)
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            if kind == 'full disk':  # every write past `where` bytes fails with EFBIG (Python ignores SIGXFSZ)
                resource.setrlimit(resource.RLIMIT_FSIZE, (where, resource.RLIM_INFINITY))
            runner = build_segment_runner(work_dir, resume, options)
            if kind not in (None, 'saving', 'full disk'):
                runner.register_hook(fault_hook(kind, where))
            runner.train()
            code = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_fd)
    lines = []
    with os.fdopen(read_fd, errors='replace') as output:
        for line in output:
            lines.append(line)
            if kind == 'saving' and f'Saving checkpoint at {where} epochs' in line:
                os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    text = ''.join(lines)
    log_path.write_text(text)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name, text
    return f'exit {os.WEXITSTATUS(status)}', text


def whole(path: Path) -> bool:
    """A whole torch checkpoint (zip records and CRCs checked), by the check the runs themselves use."""
    from lcnet_mm.io import check_checkpoint_file

    try:
        check_checkpoint_file(path)
        return True
    except (FileNotFoundError, ValueError):
        return False


def check_work_dir(work_dir: Path, best_saved: bool) -> dict:
    """What a resume or a user would read, checked without torch."""
    checkpoints = sorted(p for p in work_dir.glob('*.pth'))
    truncated = [p.name for p in checkpoints if not whole(p)]
    pointer = work_dir / 'last_checkpoint'
    pointer_ok = True
    if pointer.exists():
        target = Path(pointer.read_text().strip())
        pointer_ok = target.is_file() and whole(target)
    return dict(
        files=len(checkpoints),
        truncated=truncated,
        temporaries=len(list(work_dir.glob('.tmp-*'))),
        pointer_ok=pointer_ok,
        best_missing=best_saved and not list(work_dir.glob('best_*.pth')),
    )


def compare(reference: Path, resumed: Path) -> dict:
    import torch

    def weights(path):
        return torch.load(path, map_location='cpu', weights_only=True)['state_dict']

    last = torch.load(resumed / f'epoch_{EPOCHS}.pth', map_location='cpu', weights_only=True)
    result = dict(train_time_s=last['meta'].get('train_time_s'))  # the training clock carried over resumes
    for label, pattern in (('last', f'epoch_{EPOCHS}.pth'), ('best', 'best_*.pth')):
        ours, theirs = sorted(resumed.glob(pattern)), sorted(reference.glob(pattern))
        same = len(ours) == len(theirs) == 1 and ours[0].name == theirs[0].name
        if same:
            a, b = weights(theirs[0]), weights(ours[0])
            same = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
        result[label] = dict(equal=bool(same), reference=[p.name for p in theirs], resumed=[p.name for p in ours])
    return result


def run_plan(base: Path, options: dict) -> List[dict]:
    """Every segment of the plan, then one to the end; a row per segment."""
    rows, best_saved = [], False
    killed_dir = base / 'killed'
    for number, (kind, where) in enumerate([*PLAN, (None, None)], start=1):
        pointer = killed_dir / 'last_checkpoint'
        resumes_from = Path(pointer.read_text().strip()).name if pointer.exists() else 'nothing: a fresh start'
        log = base / 'logs' / f'segment_{number:02d}.log'
        if kind == 'full disk':  # a limit of half the size of the checkpoint the resume reads
            where = (killed_dir / resumes_from).stat().st_size // 2
        ended, text = run_segment(killed_dir, number > 1, options, kind, where, log)
        error = re.search(r'DiskFullError: (.*)', text)
        best_saved = best_saved or 'The best checkpoint with' in text
        rows.append(
            dict(
                segment=number,
                kind=kind or 'none',
                instant=describe(kind, where),
                ended=ended,
                resumed_from=resumes_from,
                started='Checkpoints will be saved to' in text,  # the runner got as far as training
                error=error.group(1) if error else None,
                **check_work_dir(killed_dir, best_saved),
            )
        )
        if ended == 'exit 0':  # the run finished: instants left in the plan were not reached
            break
    return rows


def summarize(rows: List[dict], base: Path, hook: str) -> dict:
    kills = [r for r in rows if r['ended'].startswith('SIG')]
    disk_full = [r for r in rows if r['kind'] == 'full disk']
    finished = rows[-1]['ended'] == 'exit 0'
    return dict(
        checkpoint_hook=hook,
        kills=len(kills),
        kills_by_signal={s: sum(r['ended'] == s for r in kills) for s in sorted({r['ended'] for r in kills})},
        resumes_started=sum(r['started'] for r in rows[1:]),
        resumes=len(rows) - 1,
        truncated_files=sum(len(r['truncated']) for r in rows),
        best_missing=sum(r['best_missing'] for r in rows),
        pointer_broken=sum(not r['pointer_ok'] for r in rows),
        full_disk=[dict(ended=r['ended'], error=r['error']) for r in disk_full],
        finished=finished,
        not_reached=[describe(k, w) for k, w in PLAN[len(rows) - 1 :]],
        weights=compare(base / 'uninterrupted', base / 'killed') if finished else None,
    )


def print_tables(rows: List[dict], summary: dict) -> None:
    print(
        f'| # | killed at | ended by | resumed from | resume started | .pth files | truncated | temp files | '
        f'best missing | pointer OK | error shown |  ({summary["checkpoint_hook"]})'
    )
    print('|---|---|---|---|---|---|---|---|---|---|---|')
    for r in rows:
        cells = [
            r['segment'],
            r['instant'],
            r['ended'],
            r['resumed_from'],
            'yes' if r['started'] else 'NO',
            r['files'],
            len(r['truncated']),
            r['temporaries'],
            'YES' if r['best_missing'] else 0,
            'yes' if r['pointer_ok'] else 'NO',
            r['error'] or '',
        ]
        print('| ' + ' | '.join(str(c) for c in cells) + ' |')
    print()
    print('| where | instants | ended by | resumes that started | files truncated | best missing | pointer broken |')
    print('|---|---|---|---|---|---|---|')
    for kind, described in KINDS.items():
        group = [r for r in rows if r['kind'] == kind]
        if group:
            cells = [
                described.label,
                len(group),
                ', '.join(sorted({r['ended'] for r in group})),
                # the next segment is this one's resume (row index == this segment's number)
                f'{sum(rows[r["segment"]]["started"] for r in group if r["segment"] < len(rows))}'
                f'/{sum(r["segment"] < len(rows) for r in group)}',
                sum(len(r['truncated']) for r in group),
                sum(r['best_missing'] for r in group),
                sum(not r['pointer_ok'] for r in group),
            ]
            print('| ' + ' | '.join(str(c) for c in cells) + ' |')
    print(json.dumps(summary, indent=1))


def anything_lost(summary: dict) -> bool:
    return bool(
        summary['truncated_files']
        or summary['best_missing']
        or summary['pointer_broken']
        or summary['resumes_started'] != summary['resumes']
        or any(r['ended'] != 'exit 1' or 'cannot write' not in (r['error'] or '') for r in summary['full_disk'])
        or not summary['finished']
        or summary['not_reached']
        or not all(v['equal'] for v in summary['weights'].values() if isinstance(v, dict))
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/fault_injection', help='where both runs and the data go')
    parser.add_argument(
        '--checkpoint-hook',
        default='AtomicCheckpointHook',
        choices=['AtomicCheckpointHook', 'CheckpointHook'],
        help="the run's checkpoint hook: this project's (default) or mmengine's own, for comparison",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    base = Path(args.work_dir).absolute()
    shutil.rmtree(base / 'uninterrupted', ignore_errors=True)
    shutil.rmtree(base / 'killed', ignore_errors=True)
    (base / 'logs').mkdir(parents=True, exist_ok=True)
    options = small_run(base / 'data', args.checkpoint_hook)
    import_the_stack()

    ended, _ = run_segment(base / 'uninterrupted', False, options, None, None, base / 'logs' / 'full.log')
    if ended != 'exit 0':
        print(f'the uninterrupted run failed ({ended}); see {base / "logs" / "full.log"}', file=sys.stderr)
        return 1
    rows = run_plan(base, options)
    summary = summarize(rows, base, args.checkpoint_hook)
    from lcnet_mm.io import atomic_write

    atomic_write(base / 'results.json', json.dumps(dict(summary=summary, rows=rows), indent=1))
    print_tables(rows, summary)
    return 1 if anything_lost(summary) else 0


if __name__ == '__main__':
    sys.exit(main())
