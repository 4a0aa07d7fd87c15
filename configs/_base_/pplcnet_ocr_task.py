# PaddleOCR's PP-LCNet task classifiers (document orientation, text-line orientation, table type) in
# mmpretrain: the published weights load through hf:// (a Transformers folder) or paddle:// (a PaddleX
# .pdparams), and this base fine-tunes them on your own data. configs/pplcnet_tasks/ set the task.
#
# Data: mmpretrain's CustomDataset, one folder per class under data/<task>/{train,val}/ (class names as the
# task's labels). Preprocessing is PaddleOCR's: images in BGR order (as cv2 reads them; Transformers'
# PPLCNetImageProcessor flips to BGR too) normalised with ImageNet's mean and std in their RGB order.
_base_ = ['mmpretrain::_base_/default_runtime.py']
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

data_preprocessor = dict(num_classes=2, mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], to_rgb=False)
model = dict(
    type='ImageClassifier',
    backbone=dict(type='PPLCNet', scale=1.0),
    head=dict(
        type='LCNetClsHead',
        num_classes=2,
        in_channels=512,  # make_divisible(512 * scale)
        head_channels=1280,
        dropout_ratio=0.2,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1,),
    ),
)

dataset_type = 'CustomDataset'
classes = None  # set by each task
data_root = None
# Orientation tasks must not flip or rotate: that changes the label.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]
test_pipeline = train_pipeline
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_prefix='train', pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=2,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_prefix='val', pipeline=test_pipeline),
)
test_dataloader = val_dataloader
val_evaluator = dict(type='Accuracy', topk=(1,))
test_evaluator = val_evaluator

# Fine-tuning from the published weights: a short cosine schedule at a small learning rate.
max_epochs = 10
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=4e-5), paramwise_cfg=dict(norm_decay_mult=0.0)
)
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0, end=max_epochs)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=2, save_best='accuracy/top1', rule='greater'
    ),
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook')]
