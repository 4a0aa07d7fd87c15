"""The README's swap works on mmseg's own configs (not shipped here): every ResNet-based mmseg config names an
ImageNet ResNet in ``model.pretrained``, which mmseg hands to the backbone."""

import pytest
import torch
from mmengine.config import Config

from lcnet_mm.io import ForeignCheckpointError

# mmseg's configs, as a user would start from them; PP-LCNet's stages 1-4 take ResNet's four outputs.
# config: the stride of its logits (DeepLabV3+ decodes at stage 1's stride 4)
CONFIGS = {
    'mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py': 8,
    'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py': 4,
}
PSPNET = next(iter(CONFIGS))


def swapped(config: str, tmp_path, pretrained='keep') -> Config:
    user_config = tmp_path / 'user_config.py'
    user_config.write_text(f'_base_ = {config!r}\n')  # a user's config that inherits mmseg's
    cfg = Config.fromfile(str(user_config))
    cfg.merge_from_dict(
        dict(
            custom_imports=dict(imports=['lcnet_mm'], allow_failed_imports=False),
            model=dict(
                backbone=dict(_delete_=True, type='PPLCNet', scale=1.0, out_indices=(1, 2, 3, 4), output_stride=8),
                decode_head=dict(in_channels=512),
                auxiliary_head=dict(in_channels=256),
            ),
        )
    )
    if cfg.model.decode_head.type == 'DepthwiseSeparableASPPHead':
        cfg.model.decode_head.c1_in_channels = 64
    if pretrained != 'keep':
        cfg.model.pretrained = pretrained
    return cfg


def build(cfg: Config):
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    with DefaultScope.overwrite_default_scope('mmseg'):
        return MODELS.build(cfg.model)


@pytest.mark.parametrize('config', CONFIGS)
def test_three_changes_and_pretrained_none_swap_pplcnet_into_an_mmseg_config(config, tmp_path):
    cfg = swapped(config, tmp_path, pretrained=None)
    model = build(cfg).eval()
    model.init_weights()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, 64, 64), mode='tensor')
    stride = CONFIGS[config]
    assert logits.shape == (1, 19, 64 // stride, 64 // stride)  # Cityscapes' 19 classes


def test_the_resnet_left_in_model_pretrained_is_named_with_the_fix(tmp_path):
    cfg = swapped(PSPNET, tmp_path)
    assert cfg.model.pretrained.startswith('open-mmlab://')
    with pytest.raises(ValueError, match=r'model\.pretrained=None') as error:
        build(cfg)
    assert cfg.model.pretrained in str(error.value)


def test_pretrained_takes_a_pplcnet_checkpoint_and_refuses_another_networks(tmp_path):
    from lcnet_mm import PPLCNet

    ours = tmp_path / 'pplcnet.pth'
    torch.save(PPLCNet(scale=1.0).state_dict(), ours)
    cfg = swapped(PSPNET, tmp_path, pretrained=str(ours))
    model = build(cfg)
    model.init_weights()
    expected = torch.load(ours, weights_only=True)['stem.conv.weight']
    assert torch.equal(model.backbone.stem.conv.weight, expected)

    resnet = tmp_path / 'resnet50.pth'
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7), 'layer1.0.conv1.weight': torch.zeros(64, 64, 1, 1)}, resnet)
    model = build(swapped(PSPNET, tmp_path, pretrained=str(resnet)))
    with pytest.raises(ForeignCheckpointError, match='resnet50.pth'):
        model.init_weights()
