import pytest
import torch
import torch.nn as nn
from mmpretrain.models import ImageClassifier

from lcnet_mm import LCNetClsHead, PPLCNet
from lcnet_mm.models.layers import make_divisible

# PaddleClas (pp_lcnet.py and its model list): widths per scale (stem, stages 0..4) and params (M) of the
# 1000-class classifier.
PUBLISHED = {
    0.25: ((8, 8, 16, 32, 64, 128), 1.52),
    0.35: ((8, 16, 24, 48, 88, 176), 1.65),
    0.5: ((8, 16, 32, 64, 128, 256), 1.89),
    0.75: ((16, 24, 48, 96, 192, 384), 2.37),
    1.0: ((16, 32, 64, 128, 256, 512), 2.96),
    1.5: ((24, 48, 96, 192, 384, 768), 4.52),
    2.0: ((32, 64, 128, 256, 512, 1024), 6.54),
    2.5: ((40, 80, 160, 320, 640, 1280), 9.04),
}


def test_make_divisible_rule():
    assert make_divisible(16 * 0.25) == 8  # never below the divisor
    assert make_divisible(512 * 0.35) == 176
    assert make_divisible(10) == 16  # 8 would lose more than 10%
    assert make_divisible(12) == 16
    assert make_divisible(11) == 8 + 8  # int(15)//8*8 = 8 < 9.9 -> 16


@pytest.mark.parametrize('scale', sorted(PUBLISHED))
def test_widths_shapes_and_strides(scale):
    widths, _ = PUBLISHED[scale]
    model = PPLCNet(scale=scale, out_indices=(0, 1, 2, 3, 4)).eval()
    assert model.stem.conv.out_channels == widths[0]
    assert tuple(model.stage_channels) == widths[1:]
    assert model.out_channels == widths[1:]
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    assert len(outs) == 5
    for i, out in enumerate(outs):
        stride = 2 ** (i + 1)
        assert tuple(out.shape) == (1, widths[i + 1], 64 // stride, 96 // stride)


@pytest.mark.parametrize('scale', sorted(PUBLISHED))
def test_classifier_params_match_published(scale, mmpretrain_scope):
    _, params_m = PUBLISHED[scale]
    model = ImageClassifier(
        backbone=dict(type='PPLCNet', scale=scale),
        head=dict(type='LCNetClsHead', num_classes=1000, in_channels=make_divisible(512 * scale)),
    )
    # Paddle's published counts include BN running mean/variance: in Paddle they are (non-trainable)
    # parameters, in torch buffers. Without them every width is 0.001-0.022 M lower.
    trainable = sum(p.numel() for p in model.parameters())
    bn_statistics = sum(
        b.numel() for name, b in model.named_buffers() if name.endswith(('running_mean', 'running_var'))
    )
    count = (trainable + bn_statistics) / 1e6
    assert abs(count - params_m) <= 0.01, f'x{scale}: {count:.4f} M params, published {params_m} M'


def test_sizes_not_multiple_of_32_round_up():
    model = PPLCNet(out_indices=(0, 1, 2, 3, 4)).eval()
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 225, 303))
    for i, out in enumerate(outs):
        stride = 2 ** (i + 1)
        assert out.shape[-2:] == (-(-225 // stride), -(-303 // stride))


def test_out_indices_negative_and_order():
    model = PPLCNet(out_indices=(-1, 2, -2)).eval()
    assert model.out_indices == (2, 3, 4)
    assert model.out_channels == (128, 256, 512)
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [128, 256, 512]
    assert PPLCNet(out_indices=3).out_indices == (3,)


def test_other_scale_and_custom_arch_table():
    # A non-published scale follows the same rounding.
    model = PPLCNet(scale=0.6)
    assert model.stage_channels == [make_divisible(c * 0.6) for c in (32, 64, 128, 256, 512)]
    # The paper's ablation "SE in every block, 3x3 everywhere" is a config change, not new code.
    table = [[[3, r.out_channels, r.stride, True] for r in stage] for stage in PPLCNet.arch_settings['pp_lcnet']]
    model = PPLCNet(arch=table, act_cfg=dict(type='ReLU'), out_indices=(4,))
    blocks = [b for stage in model.stages for b in stage]
    assert all(b.se is not None for b in blocks)
    assert all(b.depthwise_conv.conv.kernel_size == (3, 3) for b in blocks)
    assert isinstance(model.stem.activate, nn.ReLU)
    assert model(torch.rand(1, 3, 64, 64))[0].shape == (1, 512, 2, 2)
    # Default table: SE only in the last two blocks, 5x5 in the last seven.
    blocks = [b for stage in PPLCNet().stages for b in stage]
    assert [b.se is not None for b in blocks] == [False] * 11 + [True] * 2
    assert [b.depthwise_conv.conv.kernel_size[0] for b in blocks] == [3] * 6 + [5] * 7


def _trainable(module):
    return [p.requires_grad for p in module.parameters()]


def test_frozen_stages_stay_frozen_after_train():
    model = PPLCNet(frozen_stages=1, out_indices=(0, 1, 2, 3, 4))
    model.train()
    for frozen in (model.stem, model.stages[0], model.stages[1]):
        assert not any(_trainable(frozen))
        assert all(not m.training for m in frozen.modules())
    for free in model.stages[2:]:
        assert all(_trainable(free))
        assert all(m.training for m in free.modules())
    # Frozen BN statistics do not move in a training forward pass.
    before = model.stages[1][0].depthwise_conv.bn.running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    assert torch.equal(before, model.stages[1][0].depthwise_conv.bn.running_mean)
    assert not torch.equal(torch.zeros_like(before), model.stages[2][0].depthwise_conv.bn.running_mean)


def test_norm_eval_keeps_statistics():
    model = PPLCNet(norm_eval=True)
    model.train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(not bn.training for bn in bns)
    assert all(_trainable(model))  # norm_eval freezes statistics, not parameters
    mean = bns[-1].running_mean.clone()
    model(torch.rand(2, 3, 64, 64))
    assert torch.equal(mean, bns[-1].running_mean)


def test_with_cp_gives_same_outputs_and_grads():
    torch.manual_seed(0)
    plain = PPLCNet(out_indices=(2, 3, 4))
    ckpt = PPLCNet(out_indices=(2, 3, 4), with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.rand(2, 3, 64, 64)
    outs_plain, outs_ckpt = plain(x), ckpt(x)
    for a, b in zip(outs_plain, outs_ckpt):
        torch.testing.assert_close(a, b)
    sum(o.sum() for o in outs_plain).backward()
    sum(o.sum() for o in outs_ckpt).backward()
    torch.testing.assert_close(plain.stem.conv.weight.grad, ckpt.stem.conv.weight.grad)


def test_group_norm_instead_of_batch_norm():
    model = PPLCNet(norm_cfg=dict(type='GN', num_groups=8), out_indices=(2, 3, 4))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) == 1 + 2 * 13
    model.init_weights()
    outs = model(torch.rand(1, 3, 64, 64))
    assert [o.shape[1] for o in outs] == [128, 256, 512]


def test_default_init_follows_paddleclas():
    model = PPLCNet()
    model.init_weights()
    conv = model.stages[3][0].pointwise_conv.conv  # 1x1, 128 -> 256: fan_in 128
    std = conv.weight.std().item()
    assert abs(std - (2 / 128) ** 0.5) < 0.1 * (2 / 128) ** 0.5
    bn = model.stages[3][0].pointwise_conv.bn
    assert torch.all(bn.weight == 1) and torch.all(bn.bias == 0)
    # The stem too (mmcv's ConvModule would re-initialise it with fan-out: std sqrt(2/144), not sqrt(2/27)).
    torch.manual_seed(0)
    stds = []
    for _ in range(20):
        model = PPLCNet()
        model.init_weights()
        stds.append(model.stem.conv.weight.std().item())
    assert abs(sum(stds) / len(stds) - (2 / 27) ** 0.5) < 0.1 * (2 / 27) ** 0.5


@pytest.mark.parametrize(
    'kwargs, error, message',
    [
        (dict(scale=0), ValueError, 'scale'),
        (dict(scale=-1.0), ValueError, 'scale'),
        (dict(scale=float('nan')), ValueError, 'scale'),
        (dict(scale='x1.0'), TypeError, "'x1.0'"),
        (dict(scale=True), TypeError, 'scale'),
        (dict(out_indices=(5,)), ValueError, r'\[-5, 4\]'),
        (dict(out_indices=(-6,)), ValueError, '-6'),
        (dict(out_indices=(1, 1)), ValueError, 'twice'),
        (dict(out_indices=()), TypeError, 'non-empty'),
        (dict(out_indices=('a',)), TypeError, "'a'"),
        (dict(frozen_stages=5), ValueError, r'\[-1, 4\]'),
        (dict(frozen_stages=-2), ValueError, '-2'),
        (dict(frozen_stages=1.0), TypeError, 'frozen_stages'),
        (dict(arch='pp_lcnet_v2'), ValueError, "'pp_lcnet_v2'"),
        (dict(arch=[]), ValueError, 'non-empty'),
        (dict(arch=[[[3, 32, 1]]]), ValueError, r'stage 0 block 0 is \[3, 32, 1\]'),
        (dict(arch=[[[4, 32, 1, False]]]), ValueError, 'kernel_size'),
        (dict(arch=[[[3, 32, 3, False]]]), ValueError, 'stride'),
        (dict(arch=[[[3, 32, 1, False]], [[3, 0, 2, False]]]), ValueError, 'stage 1 block 0'),
        (dict(arch=[[[3, 32, 1, 'yes']]]), ValueError, 'use_se'),
    ],
)
def test_bad_arguments_name_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        PPLCNet(**kwargs)


def test_custom_arch_changes_allowed_indices():
    model = PPLCNet(arch=[[[3, 32, 2, False]], [[3, 64, 2, False]]], out_indices=(0, 1))
    assert model.out_channels == (32, 64)
    with pytest.raises(ValueError, match=r'\[-2, 1\]'):
        PPLCNet(arch=[[[3, 32, 2, False]], [[3, 64, 2, False]]], out_indices=(2,))


def test_head_pools_or_takes_pooled_features():
    head = LCNetClsHead(num_classes=7, in_channels=512).eval()
    feats = torch.rand(2, 512, 3, 5)
    logits = head((feats,))
    pooled = head(feats.mean(dim=(2, 3)))
    assert logits.shape == (2, 7)
    torch.testing.assert_close(logits, pooled)
    plain = LCNetClsHead(num_classes=7, in_channels=512, with_head_conv=False)
    assert plain.head_conv is None and plain.fc.in_features == 512
    assert not any(isinstance(m, nn.Conv2d) for m in plain.modules())
    assert LCNetClsHead(num_classes=7).head_conv.conv.bias is None
    assert LCNetClsHead(num_classes=7, head_conv_bias=True).head_conv.conv.bias is not None


def test_head_rejects_wrong_channels_and_arguments():
    head = LCNetClsHead(num_classes=7, in_channels=512)
    with pytest.raises(ValueError, match='in_channels=512 but receives 256'):
        head((torch.rand(1, 256, 2, 2),))
    with pytest.raises(ValueError, match='num_classes'):
        LCNetClsHead(num_classes=0)
    with pytest.raises(ValueError, match='dropout_ratio'):
        LCNetClsHead(num_classes=3, dropout_ratio=1.0)


def test_head_loss_topk_and_predict(mmpretrain_scope):
    from mmpretrain.structures import DataSample

    model = ImageClassifier(
        backbone=dict(type='PPLCNet', scale=0.5),
        head=dict(
            type='LCNetClsHead',
            num_classes=5,
            in_channels=256,
            topk=(1, 3),
            cal_acc=True,
            loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1),
        ),
    )
    model.init_weights()
    images = torch.rand(4, 3, 64, 64)
    samples = [DataSample().set_gt_label(i % 5) for i in range(4)]
    losses = model.loss(images, samples)
    assert set(losses) >= {'loss', 'accuracy_top-1', 'accuracy_top-3'}
    assert torch.isfinite(losses['loss'])
    model.eval()
    preds = model.predict(images)
    assert len(preds) == 4
    for pred in preds:
        assert pred.pred_score.shape == (5,)
        torch.testing.assert_close(pred.pred_score.sum(), torch.tensor(1.0))
        assert 0 <= int(pred.pred_label) < 5
