# mmdet's RTMDet-tiny (CSPNeXt-tiny backbone, 300 epochs on COCO) with PP-LCNet x0.75 in place of CSPNeXt:
# x0.75 returns 96/192/384 channels at strides 8/16/32, exactly what CSPNeXt-tiny gives the neck, so
# nothing but the backbone and the input normalisation changes. The strongest mmdet-native light detector,
# next to PicoDet in the benchmarks.
# For ImageNet weights add to the backbone:
#   init_cfg=dict(type='Pretrained', checkpoint='paddle://PATH/PPLCNet_x0_75_pretrained.pdparams', prefix='backbone.')
_base_ = 'mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    # PP-LCNet is trained on RGB with ImageNet mean/std; RTMDet's CSPNeXt on BGR. Padding to 32 lets any input
    # size through the neck (mmdet's pipelines pad to 640 anyway).
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32
    ),
    backbone=dict(_delete_=True, type='PPLCNet', scale=0.75, out_indices=(2, 3, 4)),
)

default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
