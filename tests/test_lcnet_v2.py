"""PPLCNetV2: the table, its blocks, the OpenMMLab backbone contract and the inference (deploy) form."""

import copy

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.models import ImageClassifier

from lcnet_mm import LCNetClsHead, PPLCNetV2
from lcnet_mm.models.layers import DepthwiseSeparable, RepDepthwiseConv

# PaddleClas (pp_lcnet_v2.py): stem and stage widths per size, blocks per stage (stage 0: the stem's block).
PUBLISHED = {
    'small': ((24, 48, 96, 192, 384, 768), (1, 2, 2, 4, 2)),
    'base': ((32, 64, 128, 256, 512, 1024), (1, 2, 2, 6, 2)),
    'large': ((40, 80, 160, 320, 640, 1280), (1, 2, 2, 8, 2)),
}


def randomise_norms(model: nn.Module, seed: int = 0) -> nn.Module:
    """BN statistics and affine parameters away from their initial values, so that folding has work to do."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            for tensor, low, high in (
                (module.running_mean, -0.3, 0.3),
                (module.running_var, 0.5, 2.0),
                (module.weight.data, 0.5, 1.5),
                (module.bias.data, -0.3, 0.3),
            ):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * (high - low) + low)
    return model


def largest_relative_difference(a, b) -> float:
    return max(float((x - y).abs().max() / y.abs().max()) for x, y in zip(a, b))


@pytest.mark.parametrize('arch', sorted(PUBLISHED))
def test_widths_depths_shapes_and_strides(arch):
    widths, depths = PUBLISHED[arch]
    model = PPLCNetV2(arch=arch, out_indices=(0, 1, 2, 3, 4)).eval()
    assert model.stem.conv.out_channels == widths[0]
    assert tuple(model.stage_channels) == widths[1:] == model.out_channels
    assert tuple(len(stage) for stage in model.stages) == depths
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 64, 96))
    for i, out in enumerate(outs):
        stride = 2 ** (i + 1)
        assert tuple(out.shape) == (1, widths[i + 1], 64 // stride, 96 // stride)


def test_blocks_follow_the_table():
    model = PPLCNetV2(arch='base')
    for i in (0, 1, 2):  # plain depthwise-separable blocks, 3x3
        for block in model.stages[i]:
            assert isinstance(block.depthwise_conv, ConvModule) and block.depthwise_conv.conv.kernel_size == (3, 3)
            assert block.se is None and isinstance(block.pointwise_conv, ConvModule) and not block.shortcut
    for j, block in enumerate(model.stages[3]):  # rep 5x5, SE with a sigmoid gate, two-step pointwise
        assert isinstance(block.depthwise_conv, RepDepthwiseConv)
        assert block.depthwise_conv.branch_kernel_sizes == ((5, 3) if j == 0 else (5, 3, 1))  # no 1x1 at stride 2
        assert isinstance(block.se.excite.activate, nn.Sigmoid)
        first, second = block.pointwise_conv
        assert (first.conv.out_channels, second.conv.out_channels) == (256, 512)
        assert not block.shortcut
    assert [block.shortcut for block in model.stages[4]] == [False, True]  # stride-1, equal widths only
    assert all(isinstance(block.depthwise_conv, RepDepthwiseConv) and block.se is None for block in model.stages[4])
    assert all(isinstance(m, nn.ReLU) for m in model.modules() if isinstance(m, (nn.ReLU, nn.Hardswish)))


def test_classifier_parameters_match_the_published_count(mmpretrain_scope):
    """PaddleClas publishes 6.6 M for base: the count of the inference form (merged depthwise convs)."""
    model = ImageClassifier(
        backbone=dict(type='PPLCNetV2', arch='base'),
        head=dict(type='LCNetClsHead', num_classes=1000, in_channels=1024, act_cfg=dict(type='ReLU')),
    )
    model.backbone.switch_to_deploy()
    assert sum(p.numel() for p in model.parameters()) / 1e6 == pytest.approx(6.6, abs=0.05)


def test_every_output_stride_has_the_same_parameters():
    """Blocks that a smaller output stride runs at stride 1 keep their branches (no 1x1 at table stride 2): a
    checkpoint loads at every output stride."""
    shapes = {k: v.shape for k, v in PPLCNetV2(arch='small').state_dict().items()}
    for output_stride in (16, 8):
        model = PPLCNetV2(arch='small', output_stride=output_stride, out_indices=(2, 3, 4))
        assert {k: v.shape for k, v in model.state_dict().items()} == shapes, output_stride
        assert model.stages[4][0].depthwise_conv.branch_kernel_sizes == (5, 3)
        assert [o.shape[-1] for o in model(torch.rand(1, 3, 64, 64))] == [8, 64 // output_stride, 64 // output_stride]


@pytest.mark.parametrize('output_stride', [None, 16, 8])
def test_deploy_form_computes_the_training_form(output_stride):
    """Merged branches and folded norms: outputs within 1e-5 of the largest value, at every output stride."""
    model = randomise_norms(PPLCNetV2(arch='small', out_indices=(2, 3, 4), output_stride=output_stride)).eval()
    deployed = copy.deepcopy(model).switch_to_deploy()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in deployed.modules())
    assert all(m.deploy for m in deployed.modules() if isinstance(m, RepDepthwiseConv))
    x = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        assert largest_relative_difference(deployed(x), model(x)) < 1e-5
    assert deployed.switch_to_deploy() is deployed  # a second call changes nothing
    with torch.no_grad():
        assert largest_relative_difference(deployed(x), model(x)) < 1e-5


def test_deploy_form_is_what_deploy_true_builds_and_the_forms_refuse_each_other():
    model = randomise_norms(PPLCNetV2(arch='small')).eval()
    deployed = copy.deepcopy(model).switch_to_deploy()
    built = PPLCNetV2(arch='small', deploy=True)
    assert {k: v.shape for k, v in built.state_dict().items()} == {k: v.shape for k, v in deployed.state_dict().items()}
    built.load_state_dict(deployed.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(built.eval()(x)[0], deployed(x)[0])
    with pytest.raises(ValueError, match='built with deploy=True.*tools/switch_to_deploy.py'):
        built.load_state_dict(model.state_dict())
    with pytest.raises(ValueError, match='model.backbone.deploy=True'):
        PPLCNetV2(arch='small').load_state_dict(deployed.state_dict())


def test_rep_depthwise_merge_is_exact_for_each_branch_set():
    for stride, dilation in ((1, 1), (2, 1), (1, 2)):
        conv = randomise_norms(RepDepthwiseConv(8, 5, stride=stride, dilation=dilation)).eval()
        merged = copy.deepcopy(conv).switch_to_deploy()
        assert merged.conv.kernel_size == (5, 5) and merged.conv.bias is not None
        x = torch.randn(2, 8, 17, 17)
        with torch.no_grad():
            assert largest_relative_difference([merged(x)], [conv(x)]) < 1e-6
    with pytest.raises(ValueError, match='odd int'):
        RepDepthwiseConv(8, 4)


def test_a_shortcut_needs_equal_widths_and_stride_one():
    with pytest.raises(ValueError, match='shortcut needs in_channels == out_channels and stride 1, got 8 -> 16'):
        DepthwiseSeparable(8, 16, shortcut=True)


@pytest.mark.parametrize(
    'kwargs, error, message',
    [
        (dict(arch='tiny'), ValueError, r"arch must be one of \['base', 'large', 'small'\].*got 'tiny'"),
        (dict(arch=dict(scale=1.0, depths=[2, 2, 6, 2])), ValueError, r'5 positive ints.*got depths=\[2, 2, 6, 2\]'),
        (dict(arch=dict(scale=1.0)), ValueError, 'dict\\(scale=<positive number>'),
        (dict(arch=dict(scale=-1.0, depths=[1, 2, 2, 6, 2])), ValueError, 'positive finite number.*got -1.0'),
        (dict(out_indices=(5,)), ValueError, r'out of range: allowed are stage indices in \[-5, 4\]'),
        (dict(frozen_stages=5), ValueError, r'frozen_stages must be in \[-1, 4\]'),
        (dict(output_stride=4), ValueError, r'output_stride must be one of \[8, 16, 32\]'),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        PPLCNetV2(**kwargs)


def test_custom_arch_dict():
    model = PPLCNetV2(arch=dict(scale=0.5, depths=[1, 1, 1, 2, 3]), out_indices=(4,))
    assert model.depths == (1, 1, 1, 2, 3) and model.stage_channels[-1] == 512
    assert [b.shortcut for b in model.stages[4]] == [False, True, True]


def test_frozen_stages_and_norm_eval():
    model = PPLCNetV2(arch='small', frozen_stages=2, norm_eval=True).train()
    frozen = [model.stem, *model.stages[:3]]
    assert all(not p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in model.stages[3:] for p in m.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    assert model.stages[3].training  # only the norms of the trained stages are held in eval mode


def test_gradient_checkpointing_gives_the_same_gradients():
    torch.manual_seed(0)
    plain = PPLCNetV2(arch='small').train()
    checkpointed = copy.deepcopy(plain)
    for block in checkpointed.modules():
        if isinstance(block, DepthwiseSeparable):
            block.with_cp = True
    x = torch.randn(2, 3, 64, 64)
    for model in (plain, checkpointed):
        model(x)[0].square().mean().backward()
    for (name, a), b in zip(plain.named_parameters(), checkpointed.parameters()):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-6), name


def test_bf16_autocast_training_step_is_finite():
    model = PPLCNetV2(arch='small', out_indices=(2, 3, 4)).train()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        outs = model(torch.randn(2, 3, 64, 64))
        loss = sum(o.float().mean() for o in outs)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_v2_head_is_lcnet_head_with_relu():
    head = LCNetClsHead(num_classes=10, in_channels=768, act_cfg=dict(type='ReLU'))
    assert isinstance(head.head_conv.activate, nn.ReLU) and head.head_conv.conv.bias is None
    assert head(torch.randn(2, 768, 3, 3)).shape == (2, 10)


def test_onnx_export_is_the_merged_form_and_matches_pytorch(tmp_path):
    """The exported graph has one depthwise conv per block (branches merged, no BN left), and ONNX Runtime and
    OpenVINO compute what PyTorch's training form computes."""
    import numpy as np
    import onnx

    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.benchmark.subjects import calibrate_norm_statistics
    from lcnet_mm.deploy import OpenVinoModel, example_input, export_onnx, model_outputs, onnx_parity

    model, _ = build_model_from_config('configs/pplcnet_v2/pplcnetv2-small_8xb256_in1k.py')
    model.init_weights()
    calibrate_norm_statistics(model.backbone)
    model.eval()
    path = str(tmp_path / 'v2.onnx')
    assert export_onnx(model, path, (128, 128)) == ['logits']
    nodes = onnx.load(path).graph.node
    depthwise = [n for n in nodes if n.op_type == 'Conv' and any(a.name == 'group' and a.i > 1 for a in n.attribute)]
    assert len(depthwise) == sum(len(stage) for stage in model.backbone.stages)
    assert not any(n.op_type == 'BatchNormalization' for n in nodes)
    for result in onnx_parity(model, path, [(1, 3, 128, 128), (2, 3, 96, 160)]):
        assert result['max_abs_diff'] <= 1e-4 * max(1.0, result['max_abs_output']), result['shape']
    images = example_input((96, 96), batch_size=1, seed=1)
    expected = model_outputs(model, images)[0].numpy()
    assert np.abs(OpenVinoModel(path, threads=2)(images)[0] - expected).max() <= 1e-4 * max(1.0, np.abs(expected).max())
