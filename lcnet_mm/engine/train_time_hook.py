import time

from mmengine.hooks import Hook

from lcnet_mm.registry import HOOKS


@HOOKS.register_module()
class TrainTimeHook(Hook):
    """Log the wall time spent training (validation excluded) with every validation result, as
    ``train_wall_s``, so that accuracy can be plotted against training time for any backbone.
    (Not ``*time*``: mmengine's LogProcessor averages every scalar whose name matches 'time'.)

    The clock starts when the training loop starts (data generation and model building before it do
    not count) and stops while validating; on resume it continues from the time stored in the
    checkpoint.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), which writes the val scalars

    def __init__(self):
        self.resumed_time = 0.0  # training time of the run this one resumes
        self._start = None
        self._val_time = 0.0
        self._val_start = None

    def train_time(self) -> float:
        if self._start is None:
            return self.resumed_time
        now = time.perf_counter()
        validating = now - self._val_start if self._val_start is not None else 0.0
        return self.resumed_time + now - self._start - self._val_time - validating

    def before_train(self, runner):
        self._start = time.perf_counter()

    def before_val_epoch(self, runner):
        self._val_start = time.perf_counter()

    def after_val_epoch(self, runner, metrics=None):
        runner.message_hub.update_scalar('val/train_wall_s', round(self.train_time(), 2))
        if self._val_start is not None:
            self._val_time += time.perf_counter() - self._val_start
            self._val_start = None

    def after_train(self, runner):
        runner.logger.info(f'training wall time (validation excluded): {self.train_time():.1f} s')

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['train_time_s'] = self.train_time()

    def after_load_checkpoint(self, runner, checkpoint):
        if getattr(runner, '_resume', False):  # load_from of another run's weights starts a new clock
            self.resumed_time = float(checkpoint.get('meta', {}).get('train_time_s', 0.0))
