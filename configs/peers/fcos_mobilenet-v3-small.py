# The flagship FCOS with mmpretrain's MobileNetV3-small: layers 3 / 8 / 12 give strides 8 / 16 / 32
# (24 / 48 / 576 channels).
_base_ = '../lcnet_fcos.py'

custom_imports = dict(imports=['lcnet_mm', 'mmpretrain.models'], allow_failed_imports=False)
model = dict(
    backbone=dict(_delete_=True, type='mmpretrain.MobileNetV3', arch='small', out_indices=(3, 8, 12)),
    neck=dict(in_channels=[24, 48, 576]),
)
