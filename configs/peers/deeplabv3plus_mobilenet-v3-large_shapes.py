# The segmentation demo (../lcnet_deeplabv3plus_shapes.py: DeepLabV3+, same data, head width, optimizer and
# schedule) with mmseg's own MobileNetV3-large. mmseg builds it at output stride 8 only (its last two
# stages are dilated in code), so the ASPP rates are doubled, as DeepLab does when the stride halves.
# Layers 3 / 12 / 16: the stride-4 low-level branch (24 channels), the auxiliary input (112) and the
# last conv (960).
_base_ = '../demos/lcnet_deeplabv3plus_shapes.py'

model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV3',
        arch='large',
        out_indices=(3, 12, 16),
        norm_cfg=dict(type='BN', requires_grad=True),
    ),
    decode_head=dict(in_channels=960, c1_in_channels=24, dilations=(1, 6, 12, 18)),
    auxiliary_head=dict(in_channels=112),
)
