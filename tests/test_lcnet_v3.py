"""PPLCNetV3: the det and rec tables, its learnable re-parameterisable convs, the OpenMMLab backbone contract and the
inference (deploy) form."""

import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper

from lcnet_mm.models.backbones import PPLCNetV3
from lcnet_mm.models.layers import LearnableRepConv


def randomise(model: nn.Module, seed: int = 0) -> nn.Module:
    """BN statistics and affine parameters away from their initial values, so that merging has work to do."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(tensor, low, high):
        tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)

    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                uniform(module.running_mean, -0.3, 0.3)
                uniform(module.running_var, 0.5, 2.0)
                uniform(module.weight, 0.5, 1.5)
                uniform(module.bias, -0.3, 0.3)
        for name, param in model.named_parameters():
            if 'affine' in name:
                uniform(param, 0.8, 1.2) if name.endswith('scale') else uniform(param, -0.1, 0.1)
    return model


def test_det_table_widths_strides_and_projections():
    # PaddleOCR's PPLCNetV3(scale=0.75, det=True): stage widths make_divisible(c * 0.75, 16), outputs through the
    # 1x1 convs to 12, 18, 42, 360 channels at strides 4, 8, 16, 32
    model = PPLCNetV3(arch='det', scale=0.75).eval()
    assert model.stem.conv.out_channels == 16
    assert model.stage_channels == [32, 48, 96, 192, 384]
    assert [len(stage) for stage in model.stages] == [1, 2, 2, 5, 4]
    assert model.out_channels == (12, 18, 42, 360)
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 96, 128))
    assert [tuple(o.shape) for o in outs] == [(1, 12, 24, 32), (1, 18, 12, 16), (1, 42, 6, 8), (1, 360, 3, 4)]
    # SE in the first two blocks of the last stage only
    assert [block.se is not None for stage in model.stages for block in stage].count(True) == 2
    assert model.stages[4][0].se is not None and model.stages[4][1].se is not None


def test_rec_table_keeps_the_width_of_a_text_line():
    model = PPLCNetV3(arch='rec', scale=0.95).eval()
    assert model.out_indices == (4,) and model.projections is None
    assert model.output_stride == (16, 4)
    with torch.no_grad():
        (out,) = model(torch.rand(1, 3, 48, 320))
    assert tuple(out.shape) == (1, 480, 3, 80)


def test_learnable_rep_conv_branches_follow_paddleocr():
    depthwise = LearnableRepConv(32, 32, 5, 1, groups=32)
    assert len(depthwise.branches) == 4 and depthwise.branch_1x1 is not None and depthwise.identity is not None
    assert depthwise.activate is not None  # stride 1: H-Swish and its affine
    strided = LearnableRepConv(32, 32, 3, 2, groups=32)
    assert strided.identity is None and strided.activate is None and strided.act_affine is None
    tall = LearnableRepConv(32, 32, 3, (2, 1), groups=32)  # an (h, w) stride keeps its activation, as PaddleOCR
    assert tall.identity is None and tall.activate is not None
    pointwise = LearnableRepConv(32, 64, 1, 1, num_branches=2)
    assert len(pointwise.branches) == 2 and pointwise.branch_1x1 is None and pointwise.identity is None


@pytest.mark.parametrize('arch', ['det', 'rec'])
def test_deploy_form_computes_the_training_form(arch):
    model = randomise(PPLCNetV3(arch=arch, scale=0.5)).eval()
    images = torch.rand(2, 3, 64, 96)
    with torch.no_grad():
        expected = model(images)
        deployed = copy.deepcopy(model).switch_to_deploy()
        merged = deployed(images)
    for a, b in zip(merged, expected):
        assert float((a - b).abs().max()) <= 1e-5 * float(b.abs().max())
    convs = [m for m in deployed.modules() if isinstance(m, LearnableRepConv)]
    assert convs and all(m.deploy and m.conv.bias is not None for m in convs)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deployed.modules())
    # what deploy=True builds loads the merged weights strictly; the training form refuses them by name
    built = PPLCNetV3(arch=arch, scale=0.5, deploy=True).eval()
    built.load_state_dict(deployed.state_dict())
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(built(images), merged))
    with pytest.raises(ValueError, match='set deploy=True'):
        PPLCNetV3(arch=arch, scale=0.5).load_state_dict(deployed.state_dict())


@pytest.mark.parametrize(
    'kwargs, message',
    [
        (dict(arch='server'), r"PPLCNetV3 arch must be one of \['det', 'rec'\], got 'server'"),
        (dict(conv_kxk_num=0), r'conv_kxk_num \(kxk branches of a PP-LCNetV3 conv\) must be a positive int, got 0'),
        (dict(scale=0), 'PPLCNetV3 scale'),
        (dict(projection_channels=(16, 24)), r'one width per returned stage \(out_indices \(1, 2, 3, 4\)\)'),
        (dict(out_indices=(5,)), 'out of range'),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        PPLCNetV3(**kwargs)


def test_frozen_stages_and_norm_eval():
    model = PPLCNetV3(frozen_stages=1, norm_eval=True).train()
    assert not any(p.requires_grad for p in model.stem.parameters())
    assert not any(p.requires_grad for p in model.stages[1].parameters())
    assert all(p.requires_grad for p in model.stages[2].parameters())
    assert not any(m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))


def test_affine_blocks_train_at_a_tenth_of_the_learning_rate_through_paramwise_cfg():
    model = PPLCNetV3(scale=0.35)
    wrapper = build_optim_wrapper(
        model,
        dict(optimizer=dict(type='SGD', lr=0.1), paramwise_cfg=dict(custom_keys={'affine': dict(lr_mult=0.1)})),
    )
    affine = {id(p) for n, p in model.named_parameters() if 'affine' in n}
    assert len(affine) == 2 * sum(1 for m in model.modules() if isinstance(m, LearnableRepConv)) + sum(
        2 for m in model.modules() if isinstance(m, LearnableRepConv) and m.activate is not None
    )
    for group in wrapper.optimizer.param_groups:
        (param,) = group['params']
        assert group['lr'] == pytest.approx(0.01 if id(param) in affine else 0.1)


def test_gradient_checkpointing_gives_the_same_gradients():
    images = torch.rand(2, 3, 64, 64)
    grads = []
    for with_cp in (False, True):
        torch.manual_seed(0)
        model = PPLCNetV3(scale=0.35, with_cp=with_cp).train()
        sum(o.sum() for o in model(images.requires_grad_())).backward()
        grads.append(images.grad.clone())
        images.grad = None
    assert torch.allclose(grads[0], grads[1], atol=1e-5)


@pytest.mark.parametrize('toolbox', ['mmdet', 'mmpretrain', 'mmseg'])
def test_registered_in_every_toolbox(toolbox):
    import importlib

    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    model = registry.build(dict(type='PPLCNetV3', scale=0.35))
    assert isinstance(model, PPLCNetV3)
