# mmseg's DeepLabV3+ (R-50-D8, 80k Cityscapes 512x1024) with PP-LCNet x1.0 in place of ResNet-50: the
# PP-LCNet paper's segmentation setting. Output stride 8 as the base ("-d8"): stages 3 and 4 dilated.
# The low-level branch takes the stride-4 stage; the auxiliary FCN head the stride-16 stage (dilated).
# For ImageNet weights add init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.') to the
# backbone (tools/convert_weights.py turns PaddleClas weights into one); nothing is downloaded.
_base_ = 'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

scale = 1.0
stage_channels = dict(low_level=64, auxiliary=256, last=512)  # make_divisible(c * scale, 8) of stages 1, 3, 4

model = dict(
    pretrained=None,  # the base's open-mmlab://resnet50_v1c
    backbone=dict(
        _delete_=True,
        type='PPLCNet',
        scale=scale,
        out_indices=(1, 3, 4),
        output_stride=8,
        norm_cfg=dict(
            type='SyncBN', requires_grad=True
        ),  # as the base's heads (written out: a base's own dict carries mmseg's scope)
    ),
    decode_head=dict(in_channels=stage_channels['last'], in_index=2, c1_in_channels=stage_channels['low_level']),
    auxiliary_head=dict(in_channels=stage_channels['auxiliary'], in_index=1),
)

# Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmseg's) runs this config.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
