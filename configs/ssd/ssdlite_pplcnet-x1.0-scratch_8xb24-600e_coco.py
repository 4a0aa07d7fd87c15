# mmdet's SSDLite (MobileNetV2, from scratch, 320x320, 600 epochs COCO) with PP-LCNet x1.0 in place of
# MobileNetV2. SSDLite taps stride 16 and 32: PP-LCNet's stages 3 and 4 (256 and 512 channels).
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(
        _delete_=True,
        type='PPLCNet',
        scale=1.0,
        out_indices=(3, 4),
        # SSDLite's BN settings (TensorFlow-style momentum) for the backbone as well.
        norm_cfg=dict(type='BN', eps=0.001, momentum=0.03),
    ),
    neck=dict(in_channels=(256, 512), out_channels=(256, 512, 512, 256, 256, 128)),
    # SSDHeadCompat is SSDHead with mmdet 3.3.0's prediction bug fixed (open-mmlab/mmdetection#11780).
    bbox_head=dict(type='SSDHeadCompat', in_channels=(256, 512, 512, 256, 256, 128)),
)

# Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmdet's, mmpretrain's) runs
# this config; a dict key, so it merges with the base's default hooks.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
