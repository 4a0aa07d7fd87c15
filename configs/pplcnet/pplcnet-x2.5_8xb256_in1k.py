# PP-LCNet x2.5 on ImageNet-1k, PaddleClas recipe (see ../_base_/pplcnet_8xb256_in1k.py).
# Published top-1 (PaddleClas, 360 epochs): 76.60%.
_base_ = '../_base_/pplcnet_8xb256_in1k.py'

model = dict(backbone=dict(scale=2.5), head=dict(in_channels=1280))
optim_wrapper = dict(optimizer=dict(weight_decay=4e-5))

# x2.5 adds AutoAugment (ImageNet policy) to the training pipeline, as PaddleClas does.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='AutoAugment', policies='imagenet', hparams=dict(pad_val=[104, 116, 124])),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
