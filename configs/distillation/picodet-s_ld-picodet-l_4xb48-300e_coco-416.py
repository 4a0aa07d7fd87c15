# Localization distillation at COCO scale: PicoDet-S 416 (PP-LCNet x0.75, PaddleDetection's recipe) learns the
# box-side distributions of a frozen PicoDet-L 416 (PP-LCNet x2.0; published 39.4 box AP) on its positives, on
# top of its own losses. No accuracy of ours is claimed: it was not trained here.
#
# The teacher is PaddleDetection's PicoDet-L; give its weights (a file you downloaded), read without conversion:
#   python tools/train.py configs/distillation/picodet-s_ld-picodet-l_4xb48-300e_coco-416.py \
#       --cfg-options model.teacher.checkpoint=paddle://checkpoints/picodet_l_416_coco_lcnet.pdparams
# (or a checkpoint of configs/picodet/picodet-l_pplcnet-x2.0_4xb24-300e_coco-416.py trained here). The teacher
# sees the student's batch: same normalisation, classes, levels and reg_max, which both configs share.
_base_ = '../picodet/picodet-s_pplcnet-x0.75_4xb48-300e_coco-416.py'

model = dict(
    type='DistilledSingleStageDetector',
    bbox_head=dict(type='LDPicoHeadV2', loss_ld=dict(type='KnowledgeDistillationKLDivLoss', loss_weight=1.0, T=10)),
    teacher=dict(
        config='{{fileDirname}}/../picodet/picodet-l_pplcnet-x2.0_4xb24-300e_coco-416.py',
        checkpoint='paddle://checkpoints/picodet_l_416_coco_lcnet.pdparams',
    ),
)
