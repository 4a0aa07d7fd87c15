# Localization distillation on the embedded shapes set: PicoDet-XS (PP-LCNet x0.35, the student) learns the
# box-side distributions of a PicoDet-S teacher (PP-LCNet x0.75, 6 epochs) on its positives, on top of its
# own losses. Train the teacher first:
#
#   python tools/train.py configs/demos/picodet_shapes_6e.py
#   python tools/train.py configs/distillation/picodet-xs_ld-picodet-s_shapes.py
#
# The student's checkpoints hold only the student: test, export or benchmark them with
# configs/demos/picodet_xs_shapes.py.
_base_ = '../demos/picodet_xs_shapes.py'

model = dict(
    type='DistilledSingleStageDetector',
    # The plain head's losses plus KL(teacher || student) of each positive's box-side distributions at T = 10.
    bbox_head=dict(type='LDPicoHeadV2', loss_ld=dict(type='KnowledgeDistillationKLDivLoss', loss_weight=1.0, T=10)),
    # The teacher: its config and its checkpoint (a file, a paddle:// path, or a work dir: its best
    # checkpoint). Frozen, in eval mode, never saved with the student.
    teacher=dict(config='{{fileDirname}}/../demos/picodet_shapes_6e.py', checkpoint='work_dirs/picodet_shapes_6e'),
)
