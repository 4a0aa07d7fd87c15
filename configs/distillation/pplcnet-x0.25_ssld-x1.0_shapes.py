# SSLD on the embedded shapes set: PP-LCNet x0.25 (the student) learns the soft labels of a PP-LCNet x1.0
# teacher only (KL divergence, no label term), as PaddleClas distils PP-LCNet. Train the teacher first:
#
#   python tools/train.py configs/demos/lcnet_cls_shapes_x1.0.py
#   python tools/train.py configs/distillation/pplcnet-x0.25_ssld-x1.0_shapes.py
#
# The student's checkpoints hold only the student: test, export or benchmark them with the plain config
# (configs/demos/lcnet_cls_shapes.py --cfg-options model.backbone.scale=0.25 model.head.in_channels=128).
_base_ = '../demos/lcnet_cls_shapes.py'

model = dict(
    type='DistilledImageClassifier',
    backbone=dict(scale=0.25),
    head=dict(in_channels=128),  # make_divisible(512 * 0.25)
    # The teacher: its config and its checkpoint (a file, a paddle:// / timm:// / hf:// path, or a work dir:
    # its best checkpoint). Frozen, in eval mode, never saved with the student.
    teacher=dict(
        config='{{fileDirname}}/../demos/lcnet_cls_shapes_x1.0.py', checkpoint='work_dirs/lcnet_cls_shapes_x1.0'
    ),
    distill_loss=dict(type='SoftTargetKLLoss', temperature=1.0),
    label_loss_weight=0.0,  # labels unused: unlabeled images could be added to the training set
)
