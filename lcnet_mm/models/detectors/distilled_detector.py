"""A single-stage student detector trained against a frozen teacher detector (localization distillation
for PicoDet, or any head with mmdet's distillation contract).

The loss is mmdet's ``KnowledgeDistillationSingleStageDetector``'s: the teacher's head outputs on the same
batch go to ``bbox_head.loss(x, out_teacher, batch_data_samples)`` (:class:`LDPicoHeadV2`, :class:`LDPicoHead`,
mmdet's ``LDHead``). What differs is the teacher (:mod:`..frozen_teacher`): mmdet's detector builds it with
the student and loads it non-strictly, so testing the student needs the teacher's file and a teacher whose
weights do not fit trains the student on a half-random teacher without an error. Here the teacher is built
before the first iteration, loaded strictly and checked against the student (classes, box distributions,
strides, image normalisation).
"""

import inspect

import torch
from mmdet.models.detectors import SingleStageDetector

from lcnet_mm.registry import MODELS
from ..frozen_teacher import FrozenTeacherMixin


@MODELS.register_module()
class DistilledSingleStageDetector(FrozenTeacherMixin, SingleStageDetector):
    """A ``SingleStageDetector`` (the student) whose head learns from a frozen teacher's head outputs.

    Args:
        backbone, neck, bbox_head, train_cfg, test_cfg, data_preprocessor, init_cfg: the student, as for
            mmdet's ``SingleStageDetector``; ``bbox_head`` must take the teacher's outputs
            (``LDPicoHeadV2``, ``LDPicoHead``, mmdet's ``LDHead``).
        teacher (dict): ``dict(config=..., checkpoint=...)``: the teacher detector's config and its weights (a
            file, a ``paddle://`` path, or a work dir: its best checkpoint). It sees the student's
            preprocessed batch, so it must normalise images as the student does, predict the same classes,
            and have the same levels (strides) and box-distribution bins (``reg_max``).
    """

    teacher_scope = 'mmdet'

    def __init__(self, backbone: dict, bbox_head: dict, teacher: dict, neck: dict = None, **kwargs):
        super().__init__(backbone=backbone, neck=neck, bbox_head=bbox_head, **kwargs)
        self.set_teacher(teacher)
        if len(inspect.signature(self.bbox_head.loss).parameters) != 3:
            raise ValueError(
                f'bbox_head {type(self.bbox_head).__name__} does not learn from a teacher: use a head with '
                'loss(x, out_teacher, batch_data_samples), e.g. LDPicoHeadV2 for PicoHeadV2, LDPicoHead for '
                "PicoHead, mmdet's LDHead for GFLHead"
            )

    def check_teacher(self, teacher) -> None:
        ours, theirs = self.bbox_head, getattr(teacher, 'bbox_head', None)
        if theirs is None:
            raise ValueError(f'{self.teacher_named()} is a {type(teacher).__name__}, not a single-stage detector')
        pairs = dict(
            num_classes=(ours.num_classes, getattr(theirs, 'num_classes', None)),
            reg_max=(getattr(ours, 'reg_max', None), getattr(theirs, 'reg_max', None)),
            strides=(ours.prior_generator.strides, getattr(getattr(theirs, 'prior_generator', None), 'strides', None)),
        )
        for name, (student, teach) in pairs.items():
            if student != teach:
                raise ValueError(
                    f'{self.teacher_named()} has {name} {teach}, the student {student}: localization distillation '
                    'compares the two heads prior by prior and bin by bin'
                )
        self.check_normalisation(teacher)

    def loss(self, batch_inputs: torch.Tensor, batch_data_samples) -> dict:
        x = self.extract_feat(batch_inputs)
        teacher = self.teacher_on(batch_inputs.device)
        with torch.no_grad():
            out_teacher = teacher.bbox_head(teacher.extract_feat(batch_inputs))
        return self.bbox_head.loss(x, out_teacher, batch_data_samples)
