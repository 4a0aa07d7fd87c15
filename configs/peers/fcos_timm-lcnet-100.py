# The flagship FCOS with timm's lcnet_100 (the same network as the flagship's backbone, timm's code) through
# mmpretrain's TIMMBackbone: features 2 / 3 / 4 are strides 8 / 16 / 32 (128 / 256 / 512 channels).
_base_ = '../lcnet_fcos.py'

custom_imports = dict(imports=['lcnet_mm', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='mmpretrain.TIMMBackbone',
        model_name='lcnet_100',
        pretrained=False,
        features_only=True,
        out_indices=(2, 3, 4),
    ),
    neck=dict(in_channels=[128, 256, 512]),
)
