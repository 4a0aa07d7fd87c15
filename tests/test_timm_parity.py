"""lcnet-mm computes exactly what timm's LCNet computes, given the same weights."""

import pytest
import timm
import torch
from mmpretrain.models import ImageClassifier

from lcnet_mm.converters import timm_to_lcnet_mm
from lcnet_mm.models.layers import make_divisible

TIMM_SCALES = {'lcnet_035': 0.35, 'lcnet_050': 0.5, 'lcnet_075': 0.75, 'lcnet_100': 1.0, 'lcnet_150': 1.5}


def randomize_batch_norm(model, generator):
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            module.running_var.copy_(torch.rand(n, generator=generator) * 2 + 0.2)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.2)


def lcnet_mm_classifier(scale, num_classes=1000):
    return ImageClassifier(
        backbone=dict(type='PPLCNet', scale=scale),
        head=dict(
            type='LCNetClsHead', num_classes=num_classes, in_channels=make_divisible(512 * scale), head_conv_bias=True
        ),
    )


@pytest.mark.parametrize('name', sorted(TIMM_SCALES))
def test_logits_match_timm(name, mmpretrain_scope):
    generator = torch.Generator().manual_seed(1)
    reference = timm.create_model(name, pretrained=False, num_classes=1000)
    with torch.no_grad():
        randomize_batch_norm(reference, generator)
    reference.eval()
    model = lcnet_mm_classifier(TIMM_SCALES[name])
    model.load_state_dict(timm_to_lcnet_mm(reference.state_dict()), strict=True)
    model.eval()
    images = torch.rand(2, 3, 224, 224, generator=generator) * 2 - 1
    with torch.no_grad():
        expected = reference(images)
        actual = model(images, mode='tensor')
    diff = (expected - actual).abs().max().item()
    assert diff <= 1e-5, f'{name}: max abs diff {diff}'
    assert expected.abs().max() > 1e-2  # the comparison is not between two near-zero tensors


def test_converter_rejects_foreign_keys():
    reference = timm.create_model('lcnet_050', pretrained=False)
    state = dict(reference.state_dict())
    state['blocks.0.0.extra.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match='blocks.0.0.extra.weight'):
        timm_to_lcnet_mm(state)


TIMM_V2 = {'lcnetv2_small': 'small', 'lcnetv2_base': 'base', 'lcnetv2_large': 'large'}


@pytest.mark.parametrize('name', sorted(TIMM_V2))
def test_timm_v2_files_convert_to_the_same_logits_before_and_after_switch_to_deploy(name, tmp_path, mmpretrain_scope):
    """A timm ``lcnetv2_*`` weight file (safetensors, as timm's hub copies are) converts through the layout
    detection to a PP-LCNetV2 classifier that computes timm's logits, also once its branches are merged."""
    from safetensors.torch import save_file

    from lcnet_mm.converters import convert_weights
    from lcnet_mm.deploy import switch_to_deploy

    generator = torch.Generator().manual_seed(2)
    reference = timm.create_model(name, pretrained=False, num_classes=10)
    with torch.no_grad():
        randomize_batch_norm(reference, generator)
    reference.eval()
    save_file({k: v.contiguous() for k, v in reference.state_dict().items()}, str(tmp_path / f'{name}.safetensors'))
    checkpoint, info = convert_weights(tmp_path / f'{name}.safetensors')
    assert (info['layout'], info['lcnet_v2']['name'], info['num_classes']) == ('timm_v2', TIMM_V2[name], 10)
    model = ImageClassifier(
        backbone=dict(type='PPLCNetV2', arch=TIMM_V2[name]),
        head=dict(
            type='LCNetClsHead',
            num_classes=10,
            in_channels=checkpoint['state_dict']['head.head_conv.conv.weight'].shape[1],
            act_cfg=dict(type='ReLU'),
        ),
    )
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    model.eval()
    images = torch.rand(2, 3, 224, 224, generator=generator) * 2 - 1
    with torch.no_grad():
        expected = reference(images)
        actual = model(images, mode='tensor')
        assert switch_to_deploy(model)
        deployed = model(images, mode='tensor')
    scale = expected.abs().max()
    assert scale > 1e-2
    assert (expected - actual).abs().max() <= 1e-5 * max(1.0, scale)
    assert (expected - deployed).abs().max() <= 1e-4 * max(1.0, scale)
