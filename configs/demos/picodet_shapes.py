# PicoDet-S (PP-LCNet x0.75, LCPAN, PicoHeadV2): PP-LCNet's own detector on the embedded synthetic set.
#
#   python tools/train.py configs/demos/picodet_shapes.py
#
# The same data, augmentation and optimiser as configs/lcnet_fcos.py, within 10 minutes of training on a slow
# 2-core CPU (2 epochs: docs/training_speed.md), so that the two compare (docs/detection.md has the curves,
# tools/benchmark.py the latencies). The COCO recipe of PaddleDetection is in configs/picodet/.
_base_ = '../lcnet_fcos.py'

scale = 0.75
backbone_channels = [96, 192, 384]  # make_divisible(c * 0.75, 8) for the stride-8/16/32 stages
neck_channels = 96

model = dict(
    _delete_=True,
    type='SingleStageDetector',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=64,  # the coarsest level has stride 64
    ),
    backbone=dict(type='PPLCNet', scale=scale, out_indices=(2, 3, 4)),
    neck=dict(type='LCPAN', in_channels=backbone_channels, out_channels=neck_channels, num_outs=4),
    bbox_head=dict(
        type='PicoHeadV2',
        num_classes=5,
        in_channels=neck_channels,
        stacked_convs=2,
    ),
    # ATSS while the predictions are still poor, then task-aligned (PaddleDetection: 100 of 300 epochs).
    train_cfg=dict(
        initial_epoch=1,
        initial_assigner=dict(type='ATSSAssigner', topk=9),
        assigner=dict(type='TaskAlignedAssigner', topk=13),
        alpha=1,
        beta=6,
    ),
    test_cfg=dict(nms_pre=1000, score_thr=0.025, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
)

# AdamW at 8e-3, as the FCOS flagship: over 6 epochs 0.698 bbox mAP against 0.609 at 4e-3 (docs/detection.md).
# 2 epochs (400 iterations): the step takes about 1 s on an AVX2-only 2-core CPU, so that 10 minutes hold with
# iterations 1.3x slower than there (docs/training_speed.md).
optim_wrapper = dict(optimizer=dict(lr=0.008))
max_epochs = 2
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.05,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
