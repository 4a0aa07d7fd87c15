"""A backbone trained by a classification config initialises a detector's backbone."""
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

ROOT = Path(__file__).resolve().parents[1]


def classifier_checkpoint(path, scale=1.0):
    """A checkpoint as the mmpretrain runner writes it: state_dict, meta and message hub, loadable with
    weights_only=True thanks to WeightsOnlyCheckpointHook."""
    from mmengine.logging import MessageHub
    from mmpretrain.models import ImageClassifier

    from lcnet_mm.engine import WeightsOnlyCheckpointHook
    from lcnet_mm.models.layers import make_divisible
    model = ImageClassifier(
        backbone=dict(type='PPLCNet', scale=scale),
        head=dict(type='LCNetClsHead', num_classes=10, in_channels=make_divisible(512 * scale)))
    model.init_weights()
    hub = MessageHub.get_instance('classifier-run')
    hub.update_scalar('train/loss', 1.5)
    hub.update_info('eta', __import__('numpy').float64(3.0))
    checkpoint = dict(meta=dict(epoch=1, iter=10, dataset_meta=dict(classes=('a', 'b'))),
                      state_dict=model.state_dict(), message_hub=hub.state_dict())
    WeightsOnlyCheckpointHook().before_save_checkpoint(None, checkpoint)
    torch.save(checkpoint, path)
    return model


def test_classification_checkpoint_initialises_detector_backbone(tmp_path, mmpretrain_scope):
    path = tmp_path / 'classifier.pth'
    classifier = classifier_checkpoint(path)
    torch.load(path, weights_only=True)  # the safe loader reads it
    cfg = Config.fromfile(str(ROOT / 'configs/lcnet_fcos.py'))
    cfg.model.backbone.init_cfg = dict(type='Pretrained', checkpoint=str(path), prefix='backbone.')
    init_default_scope('mmdet')
    from mmdet.registry import MODELS
    detector = MODELS.build(cfg.model)
    detector.init_weights()
    expected = {k: v for k, v in classifier.backbone.state_dict().items()}
    loaded = detector.backbone.state_dict()
    assert set(loaded) == set(expected), 'missing or unexpected backbone keys'
    for key, value in expected.items():
        torch.testing.assert_close(loaded[key], value, msg=key)

