# The flagship FCOS (../lcnet_fcos.py: FPN 96, 2-conv GN head, same data and schedule) with mmpretrain's
# MobileNetV3-large: layers 6 / 12 / 16 give strides 8 / 16 / 32 (40 / 112 / 960 channels).
_base_ = '../lcnet_fcos.py'

custom_imports = dict(imports=['lcnet_mm', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.MobileNetV3', arch='large', out_indices=(6, 12, 16)),
    neck=dict(in_channels=[40, 112, 960]),
)
