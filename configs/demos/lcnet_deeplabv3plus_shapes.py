# DeepLabV3+ with a PP-LCNet x1.0 backbone at output stride 16: the project's semantic-segmentation demo
# and the paper's segmentation setting.
#
#   python tools/train.py configs/demos/lcnet_deeplabv3plus_shapes.py
#
# Trains from scratch on the embedded synthetic segmentation set (the shapes of the detection set as
# per-pixel masks: background, which includes every distractor, + 5 shape classes), generated once under
# data/synthetic_shapes_seg/ in mmseg's img_dir/ann_dir layout, read by mmseg's BaseSegDataset and
# scored by its IoUMetric. The model is mmseg's DeepLabV3+ (deeplabv3plus_r50-d8) with the backbone
# swapped and the head narrowed to the backbone's size; configs/peers/deeplabv3plus_mobilenet-v3-large_shapes.py
# is the same recipe with mmseg's MobileNetV3-large (which mmseg builds at output stride 8 only) for the
# side-by-side comparison in docs/segmentation.md.
_base_ = ['mmseg::_base_/models/deeplabv3plus_r50-d8.py', 'mmseg::_base_/default_runtime.py']

custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

# Plain BN: torch's SyncBN runs on GPUs only once several processes train (CPU DDP included).
norm_cfg = dict(type='BN', requires_grad=True)
crop_size = (224, 224)
num_classes = 6

model = dict(
    data_preprocessor=dict(size=crop_size),
    pretrained=None,  # nothing is downloaded: from scratch, or init_cfg=Pretrained with a local file
    backbone=dict(
        _delete_=True,
        type='PPLCNet',
        scale=1.0,
        out_indices=(1, 3, 4),  # strides 4, 16, 16 at output_stride=16: 64, 256, 512 channels
        # DeepLabV3+'s training stride. 8 (mmseg's "-d8") triples the step time here and ends lower in the same
        # 10 minutes (docs/segmentation.md).
        output_stride=16,
        norm_cfg=norm_cfg,
    ),
    decode_head=dict(
        in_channels=512,
        in_index=2,
        channels=128,
        # DeepLabV3+'s rates at stride 16 (6, 12, 18) suit its 33x33 maps (513 crops); these maps are 14x14.
        dilations=(1, 3, 6, 9),
        c1_in_channels=64,  # the low-level branch: the stride-4 stage
        c1_channels=48,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
    ),
    auxiliary_head=dict(in_channels=256, in_index=1, channels=64, num_classes=num_classes, norm_cfg=norm_cfg),
)

# ---- data -------------------------------------------------------------------------------------------
dataset_type = 'SyntheticShapesSegmentation'
data_root = 'data/synthetic_shapes_seg/'
train_images, val_images = 1600, 200

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # Images are 224-288 px with the objects at their true size: crop, do not rescale.
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type, data_root=data_root, split='train', num_images=train_images, pipeline=train_pipeline
    ),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        num_images=val_images,
        test_mode=True,
        pipeline=test_pipeline,
    ),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# ---- schedule: 1200 iterations within 540 s of training on any CPU ---------------------------------------------
# (about 1 s each on an AVX2-only 2-core CPU: there the loop trains fewer iterations and runs the schedule that
# much faster, validating where the recipe does; docs/training_speed.md). Without the budget:
# --cfg-options train_cfg.time_budget_s=None.
max_iters = 1200
val_interval = 300
train_cfg = dict(type='BudgetedIterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval, time_budget_s=540)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# BF16 autocast or float32, channels-last or NCHW: whichever trains faster here (TrainingModeHook), as the detector.
optim_wrapper = dict(
    type='CpuAmpOptimWrapper',
    # Twice the detection demo's rate: at 4e-3 this schedule ends at 80.5 mIoU, at 8e-3 at 86.5 (docs/segmentation.md).
    optimizer=dict(type='AdamW', lr=0.008, weight_decay=0.01),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
    clip_grad=dict(max_norm=35, norm_type=2),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', T_max=max_iters, eta_min_ratio=0.05, by_epoch=False, begin=0, end=max_iters),
]

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='AtomicCheckpointHook',
        by_epoch=False,
        interval=val_interval,
        max_keep_ckpts=2,
        save_best='mIoU',
        rule='greater',
    ),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'),
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
    training_mode=dict(type='TrainingModeHook', precision='auto', memory_format='auto'),
)
custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook')]
randomness = dict(seed=0)
