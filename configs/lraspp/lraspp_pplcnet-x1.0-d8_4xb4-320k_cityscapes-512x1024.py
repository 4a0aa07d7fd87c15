# mmseg's LR-ASPP for MobileNetV3-large (320k Cityscapes 512x1024) with PP-LCNet x1.0 in its place, at the
# same strides: 2 and 4 for the two low-level branches, 8 (dilated stages 3 and 4) for the last.
# mmseg's LRASPPHead pools with a fixed 49x49 window, so its input must be at least 392 px on each side
# at stride 8 (true of these 512x1024 crops, not of small images).
_base_ = 'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    pretrained=None,  # the base's open-mmlab://contrib/mobilenet_v3_large
    backbone=dict(
        _delete_=True,
        type='PPLCNet',
        scale=1.0,
        out_indices=(0, 1, 4),  # 32, 64, 512 channels
        output_stride=8,
        norm_cfg=dict(type='SyncBN', eps=0.001, requires_grad=True),  # as the base's head
    ),
    decode_head=dict(in_channels=(32, 64, 512)),
)
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
