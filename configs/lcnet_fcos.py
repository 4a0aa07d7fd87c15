# FCOS with a PP-LCNet x1.0 backbone: the project's flagship detector.
#
#   python tools/train.py configs/lcnet_fcos.py
#
# By default it trains from scratch (no weights can be downloaded) on the embedded synthetic data set:
# five shape classes on cluttered backgrounds, generated once under data/synthetic_shapes/ and scored
# by mmdet's real CocoDataset + CocoMetric. Real COCO is one override away (docs/detection.md, "Train on COCO").
#
# Sizes: a light backbone returning strides 8/16/32, a narrow FPN (64 channels) and a short GN head (2 convs).
# The neck and head still take most of a training step (their 3x3 convs on the stride-8 map); at 64 channels
# instead of PicoDet's 96 the step takes 0.7-0.75x the time and, with the learning rate below, the run ends
# higher (docs/training_speed.md). mmdet's "FCOS tricks" base (center sampling, GIoU, centerness on the
# regression branch, normalised boxes) is kept: those cost nothing at inference and converge faster.
_base_ = 'mmdet::fcos/fcos_r50-caffe_fpn_gn-head-center-normbbox-centeronreg-giou_1x_coco.py'

custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

scale = 1.0
# make_divisible(c * scale, 8) for the stride-8/16/32 stages (docs/backbones.md has the table for every width).
backbone_channels = [128, 256, 512]
neck_channels = 64
strides = [8, 16, 32]

model = dict(
    # ImageNet RGB statistics, as PaddleClas trains PP-LCNet (the base config is caffe-style BGR).
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True, pad_size_divisor=32
    ),
    backbone=dict(
        _delete_=True,  # drop the ResNet-50 settings of the base, its pretrained init_cfg included
        type='PPLCNet',
        scale=scale,
        out_indices=(2, 3, 4),
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,  # trained from scratch: BN statistics must learn
    ),
    neck=dict(
        in_channels=backbone_channels,
        out_channels=neck_channels,
        start_level=0,
        add_extra_convs=False,
        num_outs=len(strides),
    ),
    bbox_head=dict(
        num_classes=5,
        in_channels=neck_channels,
        feat_channels=neck_channels,
        stacked_convs=2,
        strides=strides,
        # Objects are 10-120 px: split them over the three levels instead of COCO's 64/128/256/512.
        regress_ranges=((-1, 32), (32, 64), (64, 1e8)),
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
    ),
    test_cfg=dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
)

# ---- data -------------------------------------------------------------------------------------------
dataset_type = 'SyntheticShapesCoco'
data_root = 'data/synthetic_shapes/'
train_images, val_images = 1600, 200
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    # Images are 224-288 px and the objects are at their true size: no resizing needed.
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale_factor=1.0, keep_ratio=True),  # native size; records scale_factor
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='train',
        num_images=train_images,
        filter_cfg=dict(filter_empty_gt=True, min_size=4),
        pipeline=train_pipeline,
        backend_args=backend_args,
    ),
)
val_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_images=val_images,
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'val/instances.json', metric='bbox', backend_args=backend_args)
test_evaluator = val_evaluator

# ---- schedule: 6 epochs (1200 iterations) within 540 s of training on any CPU -----------------------------
# The loop times the run's own iterations once the TrainingModeHook (below) has chosen the precision and layout,
# and where the recipe does not fit 540 s (an iteration takes 0.45-0.53 s on the project's AVX-512 machines,
# 0.8-0.9 s on an AVX2-only EPYC) it shortens every epoch and runs the learning-rate schedule that much faster, so
# that the run still ends at the bottom of its cosine (docs/training_speed.md). Validation is not in the budget.
# Without the budget: --cfg-options train_cfg.time_budget_s=None; another budget: tools/train.py --time-budget S.
max_epochs = 6
train_cfg = dict(type='BudgetedEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1, time_budget_s=540)
# BF16 autocast or float32, channels-last or NCHW: whichever trains faster on the machine that runs, measured
# by TrainingModeHook (below) over the first iterations (docs/training_speed.md). CpuAmpOptimWrapper is what
# lets it switch autocast on; for float32 everywhere: --cfg-options default_hooks.training_mode.precision=fp32
optim_wrapper = dict(
    type='CpuAmpOptimWrapper',
    # 8e-3: 0.693 bbox mAP after 6 epochs, 4e-3: 0.548 (docs/training_speed.md)
    optimizer=dict(_delete_=True, type='AdamW', lr=0.008, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, bias_lr_factor=1.0),
    clip_grad=dict(_delete_=True, max_norm=35, norm_type=2),
)
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
auto_scale_lr = dict(enable=False, base_batch_size=8)

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2, save_best='coco/bbox_mAP', rule='greater'
    ),
    # Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmdet's) runs the config.
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
    # The precision and memory format measured fastest here; in default_hooks so that --cfg-options can fix them.
    training_mode=dict(type='TrainingModeHook', precision='auto', memory_format='auto'),
)
# SyncBuffersHook: with several processes, average BN statistics over the ranks after every epoch, so
# that every rank validates and saves the same model (DDP syncs gradients, not BN statistics).
custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook')]
randomness = dict(seed=0)
