import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from lcnet_mm.engine import TrainTimeHook, WeightsOnlyCheckpointHook, train_time_hook


def runner_checkpoint():
    hub = MessageHub.get_instance('hooks-test')
    for value in (3.0, 2.0, 1.5):
        hub.update_scalar('train/loss', value)
    hub.update_scalar('val/coco/bbox_mAP', 0.25)
    hub.update_info('eta', np.float64(12.5))
    hub.update_info('keep_ckpt_ids', [1, 2])
    return dict(
        meta=dict(epoch=2, iter=20, seed=np.int64(3)), state_dict=dict(w=torch.ones(2)), message_hub=hub.state_dict()
    )


def test_mmengine_checkpoint_needs_unsafe_loading_without_the_hook(tmp_path):
    torch.save(runner_checkpoint(), tmp_path / 'plain.pth')
    with pytest.raises(Exception, match='Weights only load failed'):
        torch.load(tmp_path / 'plain.pth', weights_only=True)


def test_checkpoint_round_trip_through_the_safe_loader(tmp_path):
    checkpoint = runner_checkpoint()
    hook = WeightsOnlyCheckpointHook()
    hook.before_save_checkpoint(None, checkpoint)
    torch.save(checkpoint, tmp_path / 'safe.pth')
    loaded = torch.load(tmp_path / 'safe.pth', weights_only=True)
    hook.after_load_checkpoint(None, loaded)
    restored = MessageHub.get_instance('hooks-restored')
    restored.load_state_dict(loaded['message_hub'])  # what Runner.resume does next
    loss = restored.get_scalar('train/loss')
    assert isinstance(loss, HistoryBuffer)
    assert loss.current() == 1.5 and loss.mean() == pytest.approx(6.5 / 3)
    assert restored.get_info('eta') == 12.5 and restored.get_info('keep_ckpt_ids') == [1, 2]
    assert loaded['meta']['seed'] == 3


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


class FakeRunner:
    def __init__(self, resume=False):
        self.message_hub = MessageHub.get_instance(f'time-hook-{resume}')
        self._resume = resume
        self.logger = __import__('logging').getLogger('test')


def test_train_time_excludes_validation_and_continues_on_resume(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(train_time_hook.time, 'perf_counter', clock)
    runner, hook = FakeRunner(), TrainTimeHook()
    clock.now = 100.0
    hook.before_train(runner)
    clock.now = 110.0  # 10 s of training
    hook.before_val_epoch(runner)
    clock.now = 113.0  # 3 s of validation
    hook.after_val_epoch(runner)
    assert runner.message_hub.get_scalar('val/train_wall_s').current() == 10.0
    clock.now = 120.0
    hook.before_val_epoch(runner)
    clock.now = 150.0
    hook.after_val_epoch(runner)
    assert runner.message_hub.get_scalar('val/train_wall_s').current() == 17.0
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    assert checkpoint['meta']['train_time_s'] == 17.0

    resumed, hook2 = FakeRunner(resume=True), TrainTimeHook()
    hook2.after_load_checkpoint(resumed, checkpoint)
    clock.now = 1000.0
    hook2.before_train(resumed)
    clock.now = 1005.0
    assert hook2.train_time() == 22.0
    fresh = TrainTimeHook()  # load_from another run's weights does not inherit its clock
    fresh.after_load_checkpoint(FakeRunner(resume=False), checkpoint)
    assert fresh.train_time() == 0.0
