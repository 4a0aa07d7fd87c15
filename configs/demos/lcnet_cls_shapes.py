# A PP-LCNet x0.5 classifier trained from scratch on the embedded synthetic shapes set: five shape
# classes at 64x64 px, generated once under data/synthetic_shapes_cls/ in mmpretrain's CustomDataset
# folder layout. A few minutes on a 2-core CPU; the ImageNet configs are in configs/pplcnet/.
#
#   python tools/train.py configs/demos/lcnet_cls_shapes.py
_base_ = 'mmpretrain::_base_/default_runtime.py'
default_scope = 'mmpretrain'
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

num_classes = 5
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PPLCNet', scale=0.5),
    head=dict(
        type='LCNetClsHead',
        num_classes=num_classes,
        in_channels=256,  # make_divisible(512 * 0.5)
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1,),
    ),
)
data_preprocessor = dict(
    num_classes=num_classes, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=True
)

dataset_type = 'SyntheticShapesClassification'
data_root = 'data/synthetic_shapes_cls'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=[0.25, 0.25], direction=['horizontal', 'vertical']),
    dict(type='PackInputs'),
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', num_images=20000, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=100,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', num_images=500, pipeline=test_pipeline),
)
val_evaluator = dict(type='Accuracy', topk=(1,))  # five classes: top-5 would always be 100%
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# 12 epochs (3756 iterations) within 540 s of training on any CPU: the whole recipe where an iteration takes at most
# 0.14 s (0.13-0.16 s on an Intel Xeon with AMX); where it does not fit (0.25-0.29 s on an AVX2-only EPYC), the loop
# shortens every epoch and runs the schedule that much faster (docs/training_speed.md).
max_epochs = 12
train_cfg = dict(type='BudgetedEpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1, time_budget_s=540)
val_cfg = dict()
test_cfg = dict()
# BF16 autocast or float32, channels-last or NCHW: whichever trains faster here (TrainingModeHook, below).
optim_wrapper = dict(
    type='CpuAmpOptimWrapper',
    optimizer=dict(type='AdamW', lr=0.004, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0),
)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.01,
        by_epoch=True,
        begin=0,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2, save_best='accuracy/top1', rule='greater'
    ),
    # Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmpretrain's) runs the config.
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
    # The precision and memory format measured fastest here (docs/training_speed.md).
    training_mode=dict(type='TrainingModeHook', precision='auto', memory_format='auto'),
)
# SyncBuffersHook: with several processes, average BN statistics over the ranks after every epoch, so
# that every rank validates and saves the same model (DDP syncs gradients, not BN statistics).
custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook')]
randomness = dict(seed=0)
