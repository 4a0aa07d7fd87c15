import os.path as osp

from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from lcnet_mm.io import AtomicLocalBackend, atomic_write, remove_stale_temporaries
from lcnet_mm.registry import HOOKS


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` (same arguments), crash-consistent at every instant.

    - Every checkpoint (periodic, best, last) and the ``last_checkpoint`` pointer are written atomically
      (:mod:`lcnet_mm.io.atomic_files`): a kill or a full disk mid-write leaves the previous file whole.
    - Order: the new checkpoint is on disk before the pointer names it, and the pointer names it before
      ``max_keep_ckpts`` removes the old one, so the pointer is never ahead of the data and never names a
      removed file. The new best checkpoint is on disk before the previous best is removed.
    - On resume, temporary files of writes a kill interrupted are removed, and if the resumed checkpoint
      was saved just before a validation (mmengine saves before it validates), that validation runs again:
      the best checkpoint and score are then those of an uninterrupted run.

    Every config of this project selects it as ``default_hooks.checkpoint``, so mmdet's, mmpretrain's and
    mmseg's own ``tools/train.py`` use it too. It writes local folders only.
    """

    def __init__(self, *args, backend_args=None, file_client_args=None, **kwargs):
        other = (backend_args or {}).get('backend', 'atomic_local')
        if file_client_args is not None or other != 'atomic_local':
            raise ValueError(
                f'AtomicCheckpointHook writes local folders only; got backend_args={backend_args!r}, '
                f"file_client_args={file_client_args!r}. Use mmengine's CheckpointHook for remote storage."
            )
        super().__init__(*args, backend_args=dict(backend_args or {}, backend='atomic_local'), **kwargs)

    def before_train(self, runner) -> None:
        super().before_train(runner)
        if not isinstance(self.file_backend, AtomicLocalBackend):  # out_dir is a URL of another storage
            raise ValueError(f'AtomicCheckpointHook writes local folders only; out_dir={self.out_dir!r}')
        if is_main_process():
            stale = remove_stale_temporaries(self.out_dir) + remove_stale_temporaries(runner.work_dir)
            if stale:
                runner.logger.info(f'removed {len(stale)} temporary files of interrupted writes: {sorted(set(stale))}')
        self._validate_what_the_kill_skipped(runner)

    def _validate_what_the_kill_skipped(self, runner) -> None:
        loop, val_loop = runner.train_loop, runner.val_loop
        step = runner.epoch if self.by_epoch else runner.iter
        last = getattr(loop, 'max_epochs' if self.by_epoch else 'max_iters', None)
        if step == 0 or val_loop is None or not hasattr(loop, 'val_interval') or step < loop.val_begin:
            return  # a fresh run, nothing to validate, or a loop that validates on its own terms
        if step % loop.val_interval == 0 or step == last:
            runner.logger.info(
                f'resumed at {"epoch" if self.by_epoch else "iteration"} {step}, whose checkpoint is written '
                'before its validation: validating it again'
            )
            val_loop.run()

    def _save_checkpoint_with_step(self, runner, step, meta):
        filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)
        expired = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or self.keep_ckpt_ids[-1] != step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:  # the deque drops it on append
                expired.append(self.keep_ckpt_ids[0])
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))

        runner.save_checkpoint(
            self.out_dir,
            filename,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args,
        )
        if not is_main_process():
            return
        atomic_write(osp.join(runner.work_dir, 'last_checkpoint'), self.last_ckpt)
        for old_step in expired:  # only now that the pointer names the new one
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old_step))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)

    def _save_best_checkpoint(self, runner, metrics) -> None:
        with self.file_backend.deferred_removals(keep=self._files_in_use):
            super()._save_best_checkpoint(runner, metrics)

    def _files_in_use(self):
        return [
            getattr(self, 'best_ckpt_path', None),
            *getattr(self, 'best_ckpt_path_dict', {}).values(),
            self.last_ckpt,
        ]
