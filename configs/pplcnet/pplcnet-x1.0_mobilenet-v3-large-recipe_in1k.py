# mmpretrain's own MobileNetV3-large ImageNet config with PP-LCNet x1.0 in place of MobileNetV3: only the
# backbone and the head change (the GlobalAveragePooling neck stays; LCNetClsHead takes pooled features).
# This is how to put PP-LCNet into a classification config you already have.
_base_ = 'mmpretrain::mobilenet_v3/mobilenet-v3-large_8xb128_in1k.py'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    backbone=dict(_delete_=True, type='PPLCNet', scale=1.0),
    head=dict(_delete_=True, type='LCNetClsHead', num_classes=1000, in_channels=512, topk=(1, 5)),
)

# Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmdet's, mmpretrain's) runs
# this config; a dict key, so it merges with the base's default hooks.
default_hooks = dict(
    checkpoint=dict(type='AtomicCheckpointHook'),  # the base's checkpoint settings, written crash-consistently
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
