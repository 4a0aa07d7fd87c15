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
