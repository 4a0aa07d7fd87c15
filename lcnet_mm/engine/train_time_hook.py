import time

from mmengine.hooks import Hook

from lcnet_mm.registry import HOOKS


@HOOKS.register_module()
class TrainTimeHook(Hook):
    """Log the wall time spent training (validation excluded) with every validation result, as
    ``train_time_s``, so that accuracy can be plotted against training time for any backbone.

    The clock runs from the first training iteration, so start-up (data generation, model building)
    and validation do not count; on resume it continues from the time stored in the checkpoint.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), which writes the val scalars

    def __init__(self):
        self.elapsed = 0.0
        self._since = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._since is None:
            self._since = time.perf_counter()

    def _pause(self):
        if self._since is not None:
            self.elapsed += time.perf_counter() - self._since
            self._since = None

    def before_val_epoch(self, runner):
        self._pause()

    def after_val_epoch(self, runner, metrics=None):
        runner.message_hub.update_scalar('val/train_time_s', round(self.elapsed, 2))

    def after_train(self, runner):
        self._pause()
        runner.logger.info(f'training wall time (validation excluded): {self.elapsed:.1f} s')

    def before_save_checkpoint(self, runner, checkpoint):
        running = time.perf_counter() - self._since if self._since is not None else 0.0
        checkpoint.setdefault('meta', {})['train_time_s'] = self.elapsed + running

    def after_load_checkpoint(self, runner, checkpoint):
        self.elapsed = float(checkpoint.get('meta', {}).get('train_time_s', 0.0))
