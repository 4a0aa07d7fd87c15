# PP-LCNet on ImageNet-1k with PaddleClas's recipe; configs/pplcnet/pplcnet-x*_8xb256_in1k.py set the width.
#   SGD momentum 0.9, cosine lr 0.8 at total batch 2048 (8 x 256) after 5 linear warm-up epochs, 360 epochs,
#   weight decay 3e-5 (4e-5 above x1.0), none on norm layers, label smoothing 0.1,
#   random-resized crop 224 + flip; evaluation: resize short side 256, center crop 224; top-1 and top-5.
# ImageNet as mmpretrain lays it out: data/imagenet/{train,val}/ (+ meta/ annotation files).
# With another total batch size, --auto-scale-lr scales the learning rate linearly from 0.8 @ 2048.
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs64.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['lcnet_mm'], allow_failed_imports=False)

model = dict(
    type='ImageClassifier',
    backbone=dict(type='PPLCNet', scale=1.0),
    head=dict(
        type='LCNetClsHead',
        num_classes=1000,
        in_channels=512,  # make_divisible(512 * scale)
        head_channels=1280,
        dropout_ratio=0.2,
        loss=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        topk=(1, 5),
    ),
)

train_dataloader = dict(batch_size=256)
val_dataloader = dict(batch_size=256)
test_dataloader = val_dataloader

max_epochs = 360
warmup_epochs = 5
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.8, momentum=0.9, weight_decay=3e-5), paramwise_cfg=dict(norm_decay_mult=0.0)
)
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=True, begin=0, end=warmup_epochs, convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - warmup_epochs,
        eta_min=0,
        by_epoch=True,
        begin=warmup_epochs,
        end=max_epochs,
        convert_to_iter_based=True,
    ),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=2048)

default_hooks = dict(
    checkpoint=dict(
        type='AtomicCheckpointHook', interval=1, max_keep_ckpts=3, save_best='accuracy/top1', rule='greater'
    ),
    # Checkpoints that torch.load(weights_only=True) reads, whichever tool (ours, mmpretrain's) runs the config.
    weights_only_checkpoint=dict(type='WeightsOnlyCheckpointHook'),
    # The data on disk checked before the first iteration: every bad file or box named at once.
    data_check=dict(type='DataCheckHook'),
)
# SyncBuffersHook: with several processes, average BN statistics over the ranks after every epoch, so
# that every rank validates and saves the same model (DDP syncs gradients, not BN statistics).
custom_hooks = [dict(type='TrainTimeHook'), dict(type='SyncBuffersHook')]
