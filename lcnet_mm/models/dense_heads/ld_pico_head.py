"""PicoDet heads that learn where the box sides are from a teacher: localization distillation (LD; Zheng et
al., CVPR 2022, arXiv:2102.12252) on PicoDet's box-side distributions.

PicoDet predicts each box side as a distribution over ``reg_max + 1`` bins (GFL's DFL), so a teacher's
distributions carry more than its boxes: how sure it is of each side. LD adds, on the student's positives,
the KL divergence between the teacher's and the student's distributions softened by a temperature (mmdet's
``KnowledgeDistillationKLDivLoss``, as mmdet's ``LDHead`` uses it for GFL), weighted and normalised as the DFL
term is. Everything else is the plain head's: its checkpoints load into ``PicoHeadV2`` / ``PicoHead``.

The head contract is mmdet's: ``loss(x, out_teacher, batch_data_samples)``, ``out_teacher`` being the
teacher head's ``(cls_scores, bbox_preds)``; :class:`DistilledSingleStageDetector` (or mmdet's own
``KnowledgeDistillationSingleStageDetector``) calls it.
"""

from typing import List, Optional, Sequence, Tuple

from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS as MMDET_MODELS
from mmengine.structures import InstanceData
from torch import Tensor

from lcnet_mm.registry import MODELS
from .pico_head import PicoHead, PicoHeadV2

# T = 10 as mmdet's LD configs. The weight: mmdet's LDHead sums over positives (0.25 per side); these
# heads average over them, as their DFL term, and at 1.0 LD starts at 1.4x the DFL term on the shapes demo.
DEFAULT_LOSS_LD = dict(type='KnowledgeDistillationKLDivLoss', loss_weight=1.0, T=10)


class LocalizationDistillationMixin:
    """``loss_ld`` on the positives of a PicoDet head (one of :class:`PicoHeadV2`'s family).

    Args:
        loss_ld (dict): The distillation loss of (student logits, teacher logits) per box side, e.g. mmdet's
            ``KnowledgeDistillationKLDivLoss`` with its temperature ``T``.
        Others: those of the head.
    """

    def __init__(self, *args, loss_ld: dict = DEFAULT_LOSS_LD, **kwargs):
        super().__init__(*args, **kwargs)
        self.loss_ld = MMDET_MODELS.build(loss_ld)  # mmdet's losses by their names, as the other loss_* terms

    def loss(self, x: Tuple[Tensor], out_teacher: Sequence[List[Tensor]], batch_data_samples) -> dict:
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = unpack_gt_instances(batch_data_samples)
        cls_scores, bbox_preds = self(x)
        return self.loss_by_feat(
            cls_scores,
            bbox_preds,
            batch_gt_instances,
            batch_img_metas,
            out_teacher[1],
            batch_gt_instances_ignore=batch_gt_instances_ignore,
        )

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        teacher_bbox_preds: List[Tensor],
        batch_gt_instances_ignore: Optional[List[InstanceData]] = None,
    ) -> dict:
        """The plain head's losses plus ``loss_ld`` between the student's ``bbox_preds`` and the teacher's
        ``teacher_bbox_preds`` (per level, box-side distribution logits of the same shapes)."""
        ours = [tuple(p.shape) for p in bbox_preds]
        theirs = [tuple(p.shape) for p in teacher_bbox_preds]
        if ours != theirs:
            raise ValueError(
                f"{type(self).__name__}: the teacher's box distributions have the shapes {theirs}, the student's "
                f'{ours}: the teacher needs the same levels (strides), reg_max and input'
            )
        losses, positives = self.losses_and_positives(
            cls_scores, bbox_preds, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore
        )
        pos = positives['index']
        if len(pos) == 0:
            losses['loss_ld'] = bbox_preds[0].sum() * 0
            return losses
        bins = self.reg_max + 1
        # the teacher's distributions at the student's positives, one row per side, as positives['bbox_dists']
        teacher_dists = self.flatten_bbox_preds(teacher_bbox_preds).reshape(-1, 4 * bins)[pos].reshape(-1, bins)
        losses['loss_ld'] = self.loss_ld(
            positives['bbox_dists'],
            teacher_dists.detach(),
            weight=positives['weights'][:, None].expand(-1, 4).reshape(-1),
            avg_factor=4.0 * positives['avg_factor'],
        )
        return losses


@MODELS.register_module()
class LDPicoHeadV2(LocalizationDistillationMixin, PicoHeadV2):
    """:class:`PicoHeadV2` with localization distillation from a teacher's box-side distributions (``loss_ld``,
    see :class:`LocalizationDistillationMixin`)."""


@MODELS.register_module()
class LDPicoHead(LocalizationDistillationMixin, PicoHead):
    """:class:`PicoHead` (PicoDet v1) with localization distillation; arguments as :class:`LDPicoHeadV2`."""
