"""Nothing lost at any instant: atomic writes, the checkpoint hook's order, kills at many instants of a real
run, a full disk, and bad checkpoint files named in the error."""

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest
import torch

from conftest import load_tool
from lcnet_mm.engine import AtomicCheckpointHook
from lcnet_mm.io import AtomicLocalBackend, DiskFullError, atomic_write, check_checkpoint_file, remove_stale_temporaries
from tool_process import run_tool

ROOT = Path(__file__).resolve().parents[1]


def in_child(function):
    """Run ``function`` in a forked child (it may set resource limits); returns how the child ended."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            function()
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return ('signal', os.WTERMSIG(status)) if os.WIFSIGNALED(status) else ('exit', os.WEXITSTATUS(status))


# ---- atomic writes ----------------------------------------------------------------------------------
def test_atomic_write_replaces_the_whole_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / 'sub' / 'file.bin'
    atomic_write(target, b'old')
    atomic_write(target, b'new content')
    assert target.read_bytes() == b'new content'
    atomic_write(target, 'text')
    assert target.read_text() == 'text'
    assert [p.name for p in target.parent.iterdir()] == ['file.bin']
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask  # the mode a plain open() gives, not 0600


def test_a_write_killed_half_way_leaves_the_old_file_whole(tmp_path):
    import resource

    target = tmp_path / 'checkpoint.pth'
    atomic_write(target, b'old' * 1000)

    def killed_at_byte_5000():
        resource.setrlimit(resource.RLIMIT_FSIZE, (5000, resource.RLIM_INFINITY))
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # the kernel terminates the writer at byte 5000
        atomic_write(target, b'x' * 100_000)

    assert in_child(killed_at_byte_5000) == ('signal', signal.SIGXFSZ)
    assert target.read_bytes() == b'old' * 1000
    (stale,) = tmp_path.glob('.tmp-checkpoint.pth-*')
    assert stale.stat().st_size == 5000  # the kill really was mid-write
    assert remove_stale_temporaries(tmp_path) == [stale] and not stale.exists()


def test_a_file_size_limit_is_an_error_naming_the_file(tmp_path):
    import resource

    target = tmp_path / 'epoch_3.pth'
    atomic_write(target, b'old')
    message = tmp_path / 'message'

    def limited():
        resource.setrlimit(resource.RLIMIT_FSIZE, (5000, resource.RLIM_INFINITY))  # SIGXFSZ ignored: EFBIG
        try:
            atomic_write(target, b'x' * 100_000)
        except DiskFullError as error:
            resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            message.write_text(str(error))

    assert in_child(limited) == ('exit', 0)
    assert f'cannot write {target}' in message.read_text() and 'file-size limit' in message.read_text()
    assert target.read_bytes() == b'old' and len(list(tmp_path.iterdir())) == 2  # no temporary left


def test_a_full_disk_is_an_error_naming_the_file(tmp_path):
    disk = tmp_path / 'disk'
    disk.mkdir()
    if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', str(disk)], capture_output=True).returncode:
        pytest.skip('cannot mount a small tmpfs here (needs root); the file-size-limit case above covers the path')
    try:
        target = disk / 'best.pth'
        atomic_write(target, b'old' * 1000)
        with pytest.raises(DiskFullError, match=rf'cannot write {target} .*the disk is full'):
            atomic_write(target, os.urandom(200_000))
        assert target.read_bytes() == b'old' * 1000
        assert [p.name for p in disk.iterdir()] == ['best.pth']
    finally:
        subprocess.run(['umount', str(disk)], check=True)


def test_removals_wait_until_the_block_ends_and_never_take_a_kept_file(tmp_path):
    backend = AtomicLocalBackend()
    old, new, kept = tmp_path / 'old', tmp_path / 'new', tmp_path / 'kept'
    for path in (old, kept):
        backend.put(b'x', path)
    with backend.deferred_removals(keep=lambda: [str(kept)]):
        backend.remove(old)
        backend.remove(kept)
        assert old.exists()  # still there while the replacement is written
        backend.put(b'y', new)
    assert not old.exists() and kept.exists() and new.exists()
    with pytest.raises(RuntimeError), backend.deferred_removals():
        backend.remove(new)
        raise RuntimeError('the write failed')
    assert new.exists()  # a failed block removes nothing
    backend.remove(new)
    assert not new.exists()


def test_the_hook_refuses_storage_it_cannot_write_atomically():
    with pytest.raises(ValueError, match=r"local folders only; got backend_args=\{'backend': 'petrel'\}"):
        AtomicCheckpointHook(backend_args=dict(backend='petrel'))
    assert AtomicCheckpointHook(interval=2).backend_args == dict(backend='atomic_local')


# ---- kills at many instants of a real run -----------------------------------------------------------
@pytest.mark.slow
def test_kills_at_every_kind_of_instant_lose_nothing(tmp_path):
    """tools/analysis/fault_injection.py: 24 kills (iterations, validation, mid-write of checkpoints at
    chosen bytes) and a full disk, each followed by --resume; nothing truncated, never without a best
    checkpoint, and the resumed run ends with the uninterrupted run's last and best weights."""
    proc = run_tool('analysis/fault_injection', '--work-dir', tmp_path, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads((tmp_path / 'results.json').read_text())['summary']
    assert summary['kills'] >= 20
    assert summary['kills_by_signal']['SIGXFSZ'] >= 5  # mid-write kills, at chosen bytes
    assert summary['resumes_started'] == summary['resumes']
    assert summary['truncated_files'] == summary['best_missing'] == summary['pointer_broken'] == 0
    (full_disk,) = summary['full_disk']
    assert full_disk['ended'] == 'exit 1' and 'cannot write' in full_disk['error']
    assert '.pth (' in full_disk['error'] and 'Nothing was replaced' in full_disk['error']  # names the file
    assert summary['finished'] and summary['not_reached'] == []
    weights = summary['weights']
    assert weights['last']['equal'] and weights['best']['equal']  # same file names, same tensors
    assert weights['train_time_s'] > 0  # the training clock carried over


# ---- bad checkpoint files ---------------------------------------------------------------------------
def bad_files(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}, 'meta': {}}, good)
    truncated = tmp_path / 'truncated.pth'
    truncated.write_bytes(good.read_bytes()[:2000])
    random = tmp_path / 'random.pth'
    random.write_bytes(os.urandom(3000))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    corrupt = tmp_path / 'corrupt.pth'
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte inside the tensor data: the record's CRC no longer matches
    corrupt.write_bytes(bytes(data))
    return good, dict(truncated=truncated, random=random, empty=empty, corrupt=corrupt)


def test_bad_checkpoint_files_are_named_with_what_is_wrong(tmp_path):
    good, bad = bad_files(tmp_path)
    check_checkpoint_file(good)
    expected = dict(truncated='truncated or corrupt', random='not a checkpoint', empty='empty', corrupt='CRC')
    for kind, path in bad.items():
        with pytest.raises(ValueError, match=rf'{path}: .*{expected[kind]}'):
            check_checkpoint_file(path)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        check_checkpoint_file(tmp_path / 'missing.pth')


CLS = [
    str(ROOT / 'configs/demos/lcnet_cls_shapes.py'),
    '--cfg-options',
    'train_dataloader.dataset.num_images=10',
    'val_dataloader.dataset.num_images=5',
    'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0',
    'val_dataloader.persistent_workers=False',
]


def test_train_and_test_name_a_bad_checkpoint_before_loading_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the embedded data goes under tmp_path/data
    _, bad = bad_files(tmp_path)
    train, test = load_tool('train'), load_tool('test')
    with pytest.raises(ValueError, match=r'truncated.pth: .*truncated or corrupt'):
        train.main([*CLS, f'load_from={bad["truncated"]}', 'train_cfg.max_epochs=1'])
    with pytest.raises(ValueError, match=r'random.pth: unknown weight file format'):
        test.main([CLS[0], str(bad['random']), '--cfg-options', *CLS[2:]])

    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    whole = work_dir / 'epoch_1.pth'
    torch.save({'state_dict': {}, 'meta': {}}, whole)
    (work_dir / 'epoch_2.pth').write_bytes(whole.read_bytes()[:100])  # as a plain write cut by a kill leaves it
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_2.pth'))
    with pytest.raises(ValueError, match=rf'epoch_2.pth: truncated.*last_checkpoint names.*\[.{whole}.\]'):
        train.main([CLS[0], '--work-dir', str(work_dir), '--resume', *CLS[1:]])
