"""PicoDet's modules: necks, heads, the loss on probabilities, the assigner switch, prediction."""

from pathlib import Path

import pytest
import torch
from mmdet.models.task_modules.assigners import ATSSAssigner, SimOTAAssigner, TaskAlignedAssigner
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.registry import DefaultScope, init_default_scope
from mmengine.structures import InstanceData

from lcnet_mm.models import CSPPAN, LCPAN, PicoHead, PicoHeadV2, ProbabilityVarifocalLoss

ROOT = Path(__file__).resolve().parents[1]
DEMO = str(ROOT / 'configs/demos/picodet_shapes.py')


def pyramid(channels=(48, 88, 176), size=40, batch=2):
    return [torch.randn(batch, c, size // 2**i, size // 2**i) for i, c in enumerate(channels)]


@pytest.mark.parametrize('neck_type', [LCPAN, CSPPAN])
def test_necks_return_equal_width_levels_and_an_extra_coarser_one(neck_type):
    neck = neck_type(in_channels=[48, 88, 176], out_channels=32, num_outs=4).eval()
    outs = neck(pyramid())
    assert [tuple(o.shape) for o in outs] == [(2, 32, 40, 40), (2, 32, 20, 20), (2, 32, 10, 10), (2, 32, 5, 5)]
    assert len(neck_type(in_channels=[48, 88, 176], out_channels=32).eval()(pyramid())) == 3
    # odd sizes (an input not divisible by 32): upsampling follows the finer map's size
    odd = [torch.randn(1, 48, 25, 19), torch.randn(1, 88, 13, 10), torch.randn(1, 176, 7, 5)]
    assert [tuple(o.shape[-2:]) for o in neck(odd)] == [(25, 19), (13, 10), (7, 5), (4, 3)]


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(num_outs=5), r'num_outs must be 3 \(one output per input\) or 4'),
        (dict(in_channels=[48]), 'in_channels must be a list of at least two positive ints'),
        (dict(out_channels=0), 'out_channels must be a positive int, got 0'),
        (dict(kernel_size=4), 'kernel_size must be an odd int >= 1, got 4'),
    ],
)
def test_neck_arguments_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LCPAN(**{**dict(in_channels=[48, 88, 176], out_channels=32), **kwargs})
    with pytest.raises(ValueError, match='num_csp_blocks must be a positive int'):
        CSPPAN(in_channels=[48, 88, 176], out_channels=32, num_csp_blocks=0)


@pytest.fixture(autouse=True)
def _mmdet_scope():
    """The heads build their coders from the current scope's registry: mmdet's, whatever an earlier test in the
    same process left current."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


def head_inputs(channels=32, size=32, batch=2, levels=4):
    return [torch.randn(batch, channels, size // 2**i, size // 2**i) for i in range(levels)]


@pytest.mark.parametrize('head_type', [PicoHeadV2, PicoHead])
def test_head_outputs_probabilities_and_distributions_per_level(head_type):
    head = head_type(num_classes=3, in_channels=32, stacked_convs=2).eval()
    with torch.no_grad():
        scores, distributions = head(head_inputs())
    assert [tuple(s.shape) for s in scores] == [(2, 3, 32 // 2**i, 32 // 2**i) for i in range(4)]
    assert [tuple(d.shape) for d in distributions] == [(2, 32, 32 // 2**i, 32 // 2**i) for i in range(4)]
    assert all(((s >= 0) & (s <= 1)).all() for s in scores)
    assert hasattr(head, 'gates') == (head_type is PicoHeadV2) == hasattr(head, 'align_preds')
    with pytest.raises(ValueError, match=r'has 4 levels \(strides \[8, 16, 32, 64\]\), got 3 feature maps'):
        head(head_inputs(levels=3))


def test_head_arguments_are_checked():
    with pytest.raises(ValueError, match='stacked_convs must be a positive int, got 0'):
        PicoHeadV2(num_classes=3, in_channels=32, stacked_convs=0)
    with pytest.raises(ValueError, match='loss_cls needs use_sigmoid=True'):
        PicoHeadV2(
            num_classes=3, in_channels=32, loss_cls=dict(type='lcnet_mm.ProbabilityVarifocalLoss', use_sigmoid=False)
        )
    with pytest.raises(
        TypeError,
        match=r"train_cfg.assigner must be one of \['ATSSAssigner', 'TaskAlignedAssigner', 'SimOTAAssigner'\]",
    ):
        PicoHeadV2(
            num_classes=3,
            in_channels=32,
            train_cfg=dict(assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.4)),
        )


def test_probability_varifocal_loss_equals_mmdets_on_the_logits():
    """On sigmoid(logits) it is mmdet's VarifocalLoss on the logits: only where the sigmoid is applied differs."""
    from mmdet.models.losses import VarifocalLoss

    logits = torch.randn(50, 4)
    targets = torch.zeros(50, 4)
    targets[torch.arange(0, 50, 5), torch.arange(10) % 4] = torch.rand(10)
    ours = ProbabilityVarifocalLoss()(logits.sigmoid(), targets, avg_factor=3.0)
    theirs = VarifocalLoss(use_sigmoid=True)(logits, targets, avg_factor=3.0)
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match='must have one shape'):
        ProbabilityVarifocalLoss()(logits.sigmoid(), targets[:, :3])


def ground_truth(num_images=2):
    generator = torch.Generator().manual_seed(0)
    instances = []
    for _ in range(num_images):
        corners = torch.rand(3, 2, generator=generator) * 150
        sizes = 20 + torch.rand(3, 2, generator=generator) * 80
        instances.append(InstanceData(bboxes=torch.cat([corners, corners + sizes], 1), labels=torch.tensor([0, 1, 2])))
    instances.append(InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long)))  # no objects
    metas = [dict(img_shape=(256, 256), pad_shape=(256, 256), batch_input_shape=(256, 256))] * len(instances)
    return instances, metas


def losses_at_epoch(head, epoch):
    MessageHub.get_current_instance().update_info('epoch', epoch)
    instances, metas = ground_truth()
    head.train()
    scores, distributions = head(head_inputs(size=32, batch=len(instances)))
    losses = head.loss_by_feat(scores, distributions, instances, metas)
    sum(losses.values()).backward()
    return losses


def test_assigner_switches_at_the_configured_epoch_and_both_phases_train():
    train_cfg = dict(
        initial_epoch=3,
        initial_assigner=dict(type='ATSSAssigner', topk=9),
        assigner=dict(type='TaskAlignedAssigner', topk=13),
        alpha=1,
        beta=6,
    )
    init_default_scope('mmdet')
    head = PicoHeadV2(num_classes=3, in_channels=32, train_cfg=Config(train_cfg))
    for epoch, expected in ((0, ATSSAssigner), (2, ATSSAssigner), (3, TaskAlignedAssigner), (10, TaskAlignedAssigner)):
        MessageHub.get_current_instance().update_info('epoch', epoch)
        assert type(head.current_assigner()) is expected, epoch
        losses = losses_at_epoch(head, epoch)
        assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_dfl'}
        assert all(torch.isfinite(v) and v > 0 for v in losses.values()), (epoch, losses)
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in head.parameters() if p.requires_grad)
        head.zero_grad()


def test_v1_head_trains_with_simota():
    init_default_scope('mmdet')
    head = PicoHead(num_classes=3, in_channels=32, train_cfg=Config(dict(assigner=dict(type='SimOTAAssigner'))))
    assert isinstance(head.current_assigner(), SimOTAAssigner)
    losses = losses_at_epoch(head, 0)
    assert all(torch.isfinite(v) and v > 0 for v in losses.values()), losses


def test_images_without_objects_give_a_background_only_loss():
    init_default_scope('mmdet')
    head = PicoHeadV2(
        num_classes=3, in_channels=32, train_cfg=Config(dict(assigner=dict(type='TaskAlignedAssigner', topk=13)))
    )
    head.train()
    empty = [InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))] * 2
    metas = [dict(img_shape=(256, 256), pad_shape=(256, 256), batch_input_shape=(256, 256))] * 2
    scores, distributions = head(head_inputs())
    losses = head.loss_by_feat(scores, distributions, empty, metas)
    assert losses['loss_cls'] > 0 and losses['loss_bbox'] == 0 and losses['loss_dfl'] == 0


def test_the_runner_switches_assigners_at_initial_epoch(tmp_path, monkeypatch):
    """A real two-epoch run of the demo config (four images): epoch 0 assigns with ATSS only, epoch 1 with the
    task-aligned assigner only, as configured by initial_epoch=1."""
    from mmengine.runner import Runner

    cfg = Config.fromfile(DEMO)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.train_cfg.initial_epoch = 1
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=10)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.update(data_root=str(tmp_path / 'data'), num_images=4)
    cfg.val_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.val_dataloader.dataset.update(data_root=str(tmp_path / 'data'), num_images=2)
    cfg.val_evaluator.ann_file = str(tmp_path / 'data/val/instances.json')
    cfg.test_dataloader = cfg.val_dataloader
    cfg.test_evaluator = cfg.val_evaluator
    cfg.optim_wrapper.type = 'OptimWrapper'
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=10)
    cfg.custom_hooks = []
    runner = Runner.from_cfg(cfg)
    head = runner.model.bbox_head
    calls = []
    for name in ('initial_assigner', 'assigner'):
        assigner = getattr(head, name)
        original = assigner.assign

        def recording(*args, _name=name, _original=original, **kwargs):
            calls.append((MessageHub.get_current_instance().get_info('epoch'), _name))
            return _original(*args, **kwargs)

        monkeypatch.setattr(assigner, 'assign', recording)
    runner.train()
    assert {epoch for epoch, _ in calls} == {0, 1}
    assert {name for epoch, name in calls if epoch == 0} == {'initial_assigner'}
    assert {name for epoch, name in calls if epoch == 1} == {'assigner'}


def test_demo_predictions_are_boxes_inside_the_image():
    from lcnet_mm.apis import build_model_from_config

    model, _ = build_model_from_config(DEMO)
    model.eval()
    model.bbox_head.test_cfg['score_thr'] = 0.0  # an untrained head scores about its prior: keep them
    samples = [DetDataSample(metainfo=dict(img_shape=(224, 288), ori_shape=(224, 288), scale_factor=(1.0, 1.0)))]
    with torch.no_grad():
        (result,) = model.predict(torch.randn(1, 3, 256, 320), samples)
    boxes = result.pred_instances.bboxes
    assert len(boxes) == 100 and boxes.shape == (100, 4)
    assert (boxes[:, 0] >= 0).all() and (boxes[:, 2] <= 288).all() and (boxes[:, 3] <= 224).all()
    assert (result.pred_instances.scores.diff() <= 0).all() and (result.pred_instances.labels < 5).all()


def test_switch_to_deploy_folds_backbone_neck_and_head_into_a_loadable_checkpoint(tmp_path, capsys):
    """tools/switch_to_deploy.py folds every BN of a PicoDet; the checkpoint loads strictly into the config built
    with deploy=True for the three parts, gives the same outputs, and is refused by a training-form neck."""
    from conftest import load_tool
    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.subjects import calibrate_norm_statistics
    from lcnet_mm.deploy import example_input, model_outputs

    model, _ = build_model_from_config(DEMO)
    model.init_weights()
    calibrate_norm_statistics(model)
    trained = tmp_path / 'trained.pth'
    torch.save({'state_dict': model.state_dict()}, trained)
    folded = tmp_path / 'folded.pth'
    assert load_tool('switch_to_deploy').main([DEMO, str(trained), str(folded), '--input-size', '128', '128']) == 0
    options = 'model.backbone.deploy=True model.neck.deploy=True model.bbox_head.deploy=True'
    assert f'load it with --cfg-options {options}' in capsys.readouterr().out

    deployed, _ = build_model_from_config(
        DEMO,
        str(folded),
        cfg_options={'model.backbone.deploy': True, 'model.neck.deploy': True, 'model.bbox_head.deploy': True},
    )
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in deployed.modules())
    images = example_input((128, 160), batch_size=1, seed=1)
    for ours, reference in zip(model_outputs(deployed, images), model_outputs(model.eval(), images)):
        torch.testing.assert_close(ours, reference, rtol=1e-4, atol=1e-4)
    with pytest.raises(
        ValueError, match=r'BN-folded .* but the LCPAN was built with deploy=False; .*model.neck.deploy=True'
    ):
        build_model_from_config(DEMO, str(folded), cfg_options={'model.backbone.deploy': True})
    with pytest.raises(ValueError, match=r'has batch norms .* but the PicoHeadV2 was built with deploy=True'):
        build_model_from_config(DEMO, str(trained), cfg_options={'model.bbox_head.deploy': True})
