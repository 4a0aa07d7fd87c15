# SSLD at ImageNet scale: PP-LCNet x1.0 learns a frozen ResNet50-vd teacher's soft labels only (KL, no label
# term), PaddleClas's recipe for PP-LCNet's distilled weights (published top-1 71.32% -> 74.39%, with ~4 M
# extra unlabeled ImageNet-22k images and PaddleClas's ResNet50_vd_ssld teacher). No accuracy of ours is
# claimed: it was not trained here.
#
# The teacher is mmpretrain's ResNetV1d-50; give its ImageNet weights (a file you downloaded):
#   python tools/train.py configs/distillation/pplcnet-x1.0_ssld-resnet50-vd_8xb256_in1k.py \
#       --cfg-options model.teacher.checkpoint=checkpoints/resnetv1d50_b32x8_imagenet.pth
# Unlabeled images (a folder) join the training set as mmpretrain's CustomDataset(with_label=False), e.g.
#   train_dataloader.dataset = dict(type='ConcatDataset', ignore_keys=['classes'], datasets=[
#       <the ImageNet train set>, dict(type='CustomDataset', data_root='data/unlabeled', with_label=False,
#       pipeline=train_pipeline)])
_base_ = '../pplcnet/pplcnet-x1.0_8xb256_in1k.py'

model = dict(
    type='DistilledImageClassifier',
    teacher=dict(
        config='mmpretrain::resnet/resnetv1d50_8xb32_in1k.py', checkpoint='checkpoints/resnetv1d50_b32x8_imagenet.pth'
    ),
    distill_loss=dict(type='SoftTargetKLLoss', temperature=1.0),
    label_loss_weight=0.0,
)
