"""PicoDet's heads (Yu et al., 2021, arXiv:2111.00902; PaddleDetection ``ppdet/modeling/heads/pico_head.py``).

Built on mmdet's ``GFLHead``, whose parts PicoDet shares: per-level anchors as priors, a distribution (DFL)
box regression decoded by ``Integral``, ``DistancePointBBoxCoder``, and ``predict_by_feat``. What is
PicoDet's own is here: the towers of depthwise-separable 5x5 convs, the SE gate and the align branch
(v2), a score that is already a probability, and the loss with soft targets that switches assigners
after ``initial_epoch`` epochs (v2: ATSS, then task-aligned).
"""

from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.models.dense_heads import GFLHead
from mmdet.models.task_modules.assigners import ATSSAssigner, SimOTAAssigner, TaskAlignedAssigner
from mmdet.models.utils import filter_scores_and_topk, multi_apply
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import bbox2distance, bbox_overlaps
from mmdet.utils import reduce_mean
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData
from torch import Tensor

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int, check_odd_int
from ..layers import DepthwiseSeparable, FoldsNormsForDeploy, deploy_layer_cfg

# PaddleDetection's epsilon under the square root of the v2 score: part of the function being ported.
SCORE_EPS = 1e-9
_ASSIGNERS = (ATSSAssigner, TaskAlignedAssigner, SimOTAAssigner)
# One anchor per location, 5 strides wide (what ATSS's candidate boxes are), at PicoDet's four levels.
ANCHOR_GENERATOR = dict(
    type='AnchorGenerator',
    ratios=[1.0],
    octave_base_scale=5,
    scales_per_octave=1,
    strides=[8, 16, 32, 64],
    center_offset=0.5,
)


class PicoSE(nn.Module):
    """PicoDet v2's gate before the predictions: ``conv(x * sigmoid(fc(mean(x))))``, the conv 1x1 with
    norm and activation. Unlike PP-LCNet's SE there is no squeeze: ``fc`` maps C to C."""

    def __init__(self, channels: int, conv_cfg: dict, norm_cfg: dict, act_cfg: dict, deploy: bool = False):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1)
        self.conv = ConvModule(
            channels, channels, 1, conv_cfg=conv_cfg, act_cfg=act_cfg, **deploy_layer_cfg(deploy, norm_cfg)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x * self.fc(x.mean((2, 3), keepdim=True)).sigmoid())


@MODELS.register_module()
class PicoHeadV2(FoldsNormsForDeploy, GFLHead):
    """PicoDet v2 head.

    Per level (weights not shared between levels): a tower of ``stacked_convs`` depthwise-separable blocks
    (kxk depthwise, 1x1 pointwise, norm and activation after each), a :class:`PicoSE` gate, then 1x1 convs
    to the class logits and to ``4 * (reg_max + 1)`` box-side distributions. The align branch (a kxk conv
    to one channel, then a 1x1 conv, on the tower output) rescales the score:
    ``score = sqrt(sigmoid(cls) * sigmoid(align))``. ``forward`` returns the scores as probabilities.

    Training (``train_cfg``): ``initial_assigner`` (ATSS, top-k 9) for the epochs before ``initial_epoch``,
    then ``assigner`` (task-aligned, top-k 13, ``alpha`` 1, ``beta`` 6); the epoch is read from mmengine's
    message hub, as mmdet's TOOD does. Targets are soft: a positive's class target is the IoU of its
    predicted box with its ground truth (ATSS, SimOTA) or its normalised alignment metric (task-aligned).
    Losses: varifocal on the probabilities, GIoU and DFL on the positives weighted by their target, all
    normalised by the sum of the targets.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of every input level (the neck's ``out_channels``).
        feat_channels (int): Channels of the towers (PicoDet: ``in_channels``).
        stacked_convs (int): Depthwise-separable blocks per tower: 2 (XS, S) or 4 (M, L).
        kernel_size (int): Depthwise kernel of the towers and of the align branch.
        use_se (bool): The :class:`PicoSE` gate between tower and predictions.
        use_align_head (bool): The align branch; without it the score is ``sigmoid(cls)``.
        reg_max (int): Largest distance (in strides) the box distributions cover.
        conv_cfg, norm_cfg, act_cfg (dict): Layer configs of towers, gates and align branch.
        deploy (bool): Build the inference form, every BN already folded into its conv (what
            :meth:`switch_to_deploy` turns a trained head into).
        anchor_generator (dict): Priors: one square of ``octave_base_scale`` strides per cell, centred
            in the cell; only the assigners see their size.
        loss_cls, loss_bbox, loss_dfl (dict): Losses; ``loss_cls`` takes probabilities.
        train_cfg (dict): ``assigner``, and optionally ``initial_assigner`` with ``initial_epoch``;
            ``alpha`` and ``beta`` for a task-aligned assigner.
    """

    deploy_option = 'model.bbox_head.deploy'

    def __init__(
        self,
        num_classes: int,
        in_channels: int,
        feat_channels: int = None,
        stacked_convs: int = 2,
        kernel_size: int = 5,
        use_se: bool = True,
        use_align_head: bool = True,
        reg_max: int = 7,
        conv_cfg: dict = None,
        norm_cfg: dict = dict(type='BN'),
        act_cfg: dict = dict(type='HSwish'),
        deploy: bool = False,
        anchor_generator: dict = ANCHOR_GENERATOR,
        loss_cls: dict = dict(type='lcnet_mm.ProbabilityVarifocalLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox: dict = dict(type='GIoULoss', loss_weight=2.5),
        loss_dfl: dict = dict(type='DistributionFocalLoss', loss_weight=0.5),
        train_cfg: dict = None,
        init_cfg=dict(
            type='Normal',
            layer='Conv2d',
            std=0.01,
            override=dict(type='Normal', name='cls_preds', std=0.01, bias_prob=0.01),
        ),
        **kwargs,
    ):
        name = type(self).__name__
        check_int(stacked_convs, f'{name} stacked_convs', minimum=1)
        check_int(reg_max, f'{name} reg_max', minimum=1)
        check_odd_int(kernel_size, f'{name} kernel_size')
        if not loss_cls.get('use_sigmoid', False):
            raise ValueError(
                f'{name} scores are per-class probabilities: loss_cls needs use_sigmoid=True, got {loss_cls}'
            )
        # Read by _init_layers, which mmdet's AnchorHead.__init__ calls.
        self.kernel_size = kernel_size
        self.use_se = use_se
        self.use_align_head = use_align_head
        self.act_cfg = act_cfg
        self.deploy = deploy
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            feat_channels=in_channels if feat_channels is None else feat_channels,
            stacked_convs=stacked_convs,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            loss_dfl=loss_dfl,
            reg_max=reg_max,
            anchor_generator=anchor_generator,
            loss_cls=loss_cls,
            loss_bbox=loss_bbox,
            train_cfg=train_cfg,
            init_cfg=init_cfg,
            **kwargs,
        )
        self.initial_assigner = None
        if self.train_cfg:
            self.initial_epoch = self.train_cfg.get('initial_epoch', 0)
            if self.train_cfg.get('initial_assigner') is not None:
                self.initial_assigner = self._build_assigner(self.train_cfg['initial_assigner'], 'initial_assigner')
            self._check_assigner(self.assigner, 'assigner')
            self.alpha = self.train_cfg.get('alpha', 1)
            self.beta = self.train_cfg.get('beta', 6)

    # ---- layers ------------------------------------------------------------------------------------------
    def _init_layers(self):
        layer_cfg = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg, deploy=self.deploy)
        num_levels = self.prior_generator.num_levels
        self.towers = nn.ModuleList(
            nn.Sequential(
                *(
                    DepthwiseSeparable(
                        self.in_channels if i == 0 else self.feat_channels,
                        self.feat_channels,
                        self.kernel_size,
                        **layer_cfg,
                    )
                    for i in range(self.stacked_convs)
                )
            )
            for _ in range(num_levels)
        )
        if self.use_se:
            self.gates = nn.ModuleList(PicoSE(self.feat_channels, **layer_cfg) for _ in range(num_levels))
        self.cls_preds = nn.ModuleList(
            nn.Conv2d(self.feat_channels, self.cls_out_channels, 1) for _ in range(num_levels)
        )
        self.reg_preds = nn.ModuleList(
            nn.Conv2d(self.feat_channels, 4 * (self.reg_max + 1), 1) for _ in range(num_levels)
        )
        if self.use_align_head:
            norm = deploy_layer_cfg(self.deploy, self.norm_cfg)
            self.align_preds = nn.ModuleList(
                nn.Sequential(
                    ConvModule(
                        self.feat_channels,
                        1,
                        self.kernel_size,
                        padding=self.kernel_size // 2,
                        conv_cfg=self.conv_cfg,
                        act_cfg=self.act_cfg,
                        **norm,
                    ),
                    ConvModule(1, 1, 1, conv_cfg=self.conv_cfg, act_cfg=None, **norm),
                )
                for _ in range(num_levels)
            )

    def forward(self, feats: Sequence[Tensor]) -> Tuple[List[Tensor], List[Tensor]]:
        """Per level: scores (N, num_classes, H, W) as probabilities, and box-side distribution logits
        (N, 4 * (reg_max + 1), H, W) in the order left, top, right, bottom."""
        if len(feats) != self.prior_generator.num_levels:
            raise ValueError(
                f'{type(self).__name__} has {self.prior_generator.num_levels} levels (strides '
                f'{[s[0] for s in self.prior_generator.strides]}), got {len(feats)} feature maps'
            )
        cls_scores, bbox_preds = [], []
        for level, feat in enumerate(feats):
            feat = self.towers[level](feat)
            shared = self.gates[level](feat) if self.use_se else feat
            score = self.cls_preds[level](shared).sigmoid()
            if self.use_align_head:
                score = (score * self.align_preds[level](feat).sigmoid() + SCORE_EPS).sqrt()
            cls_scores.append(score)
            bbox_preds.append(self.reg_preds[level](shared))
        return cls_scores, bbox_preds

    # ---- training ----------------------------------------------------------------------------------------
    def current_assigner(self):
        """The assigner of the current epoch: ``initial_assigner`` before ``initial_epoch``."""
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        if self.initial_assigner is not None and epoch < self.initial_epoch:
            return self.initial_assigner
        return self.assigner

    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[List[InstanceData]] = None,
    ) -> dict:
        losses, _ = self.losses_and_positives(
            cls_scores, bbox_preds, batch_gt_instances, batch_img_metas, batch_gt_instances_ignore
        )
        return losses

    def flatten_bbox_preds(self, bbox_preds: List[Tensor]) -> Tensor:
        """Per level (N, 4 * (reg_max + 1), H, W) -> (N, priors of every level, 4 * (reg_max + 1)), float32, in the
        order of the priors."""
        bins = 4 * (self.reg_max + 1)
        return torch.cat([p.permute(0, 2, 3, 1).reshape(p.shape[0], -1, bins) for p in bbox_preds], 1).float()

    def losses_and_positives(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        batch_gt_instances: List[InstanceData],
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: Optional[List[InstanceData]] = None,
    ) -> Tuple[dict, dict]:
        """The losses, and the positives they were computed on: ``index`` into the batch's priors (images
        concatenated, levels in order), their soft ``weights``, the ``avg_factor`` that normalises them and their
        box-side distribution logits ``bbox_dists`` (what a distillation term on the same positives needs)."""
        num_imgs = len(batch_img_metas)
        device = cls_scores[0].device
        mlvl_anchors = self.prior_generator.grid_priors([s.shape[-2:] for s in cls_scores], device=device)
        num_level_anchors = [len(anchors) for anchors in mlvl_anchors]
        anchors = torch.cat(mlvl_anchors)
        strides = torch.cat(
            [a.new_full((len(a),), float(s[0])) for a, s in zip(mlvl_anchors, self.prior_generator.strides)]
        )
        centers = self.anchor_center(anchors)

        scores = torch.cat([s.permute(0, 2, 3, 1).reshape(num_imgs, -1, self.cls_out_channels) for s in cls_scores], 1)
        bins = self.reg_max + 1
        regs = self.flatten_bbox_preds(bbox_preds)
        distances = self.integral(regs).reshape(num_imgs, -1, 4) * strides[None, :, None]
        boxes = self.bbox_coder.decode(centers.expand(num_imgs, -1, -1), distances)

        if batch_gt_instances_ignore is None:
            batch_gt_instances_ignore = [None] * num_imgs
        assigner = self.current_assigner()
        labels, bbox_targets, soft_targets = multi_apply(
            self._targets_single,
            scores.detach().float(),
            boxes.detach(),
            batch_gt_instances,
            batch_gt_instances_ignore,
            assigner=assigner,
            anchors=anchors,
            centers=centers,
            strides=strides,
            num_level_anchors=num_level_anchors,
        )
        labels, bbox_targets, soft_targets = torch.cat(labels), torch.cat(bbox_targets), torch.cat(soft_targets)

        pos = (labels < self.num_classes).nonzero().squeeze(1)
        score_targets = scores.new_zeros(labels.numel(), self.cls_out_channels, dtype=torch.float32)
        score_targets[pos, labels[pos]] = soft_targets[pos]
        avg_factor = reduce_mean(score_targets.sum()).clamp(min=1).item()
        loss_cls = self.loss_cls(scores.reshape(-1, self.cls_out_channels), score_targets, avg_factor=avg_factor)

        weights = soft_targets[pos]
        # the positives' box-side distribution logits, one row per side (what a distillation term compares)
        positives = dict(
            index=pos,
            weights=weights,
            avg_factor=avg_factor,
            bbox_dists=regs.reshape(-1, 4 * bins)[pos].reshape(-1, bins),
        )
        if len(pos) == 0:
            zero = regs.sum() * 0
            return dict(loss_cls=loss_cls, loss_bbox=zero, loss_dfl=zero), positives
        pos_targets = bbox_targets[pos]
        loss_bbox = self.loss_bbox(boxes.reshape(-1, 4)[pos], pos_targets, weight=weights, avg_factor=avg_factor)
        pos_strides = strides.repeat(num_imgs)[pos, None]
        target_distances = bbox2distance(
            centers.repeat(num_imgs, 1)[pos] / pos_strides, pos_targets / pos_strides, self.reg_max, eps=0.01
        )
        loss_dfl = self.loss_dfl(
            regs.reshape(-1, 4 * bins)[pos].reshape(-1, bins),
            target_distances.reshape(-1),
            weight=weights[:, None].expand(-1, 4).reshape(-1),
            avg_factor=4.0 * avg_factor,
        )
        return dict(loss_cls=loss_cls, loss_bbox=loss_bbox, loss_dfl=loss_dfl), positives

    def _targets_single(
        self, scores, boxes, gt_instances, gt_instances_ignore, assigner, anchors, centers, strides, num_level_anchors
    ):
        """One image: class labels (``num_classes`` for background), box targets and soft class targets."""
        num_priors = len(anchors)
        labels = torch.full((num_priors,), self.num_classes, dtype=torch.long, device=anchors.device)
        bbox_targets = anchors.new_zeros((num_priors, 4))
        soft_targets = anchors.new_zeros(num_priors)
        if len(gt_instances) == 0:
            return labels, bbox_targets, soft_targets

        if isinstance(assigner, ATSSAssigner):
            result = assigner.assign(InstanceData(priors=anchors), num_level_anchors, gt_instances, gt_instances_ignore)
        elif isinstance(assigner, TaskAlignedAssigner):
            pred = InstanceData(priors=anchors, scores=scores, bboxes=boxes)
            result = assigner.assign(pred, gt_instances, gt_instances_ignore, self.alpha, self.beta)
        else:  # SimOTA reads its priors as points with strides
            points = torch.cat([centers, strides[:, None], strides[:, None]], 1)
            result = assigner.assign(
                InstanceData(priors=points, scores=scores, bboxes=boxes), gt_instances, gt_instances_ignore
            )

        pos = (result.gt_inds > 0).nonzero().squeeze(1)
        if len(pos) == 0:
            return labels, bbox_targets, soft_targets
        gt_index = result.gt_inds[pos] - 1
        labels[pos] = gt_instances.labels[gt_index]
        bbox_targets[pos] = gt_instances.bboxes[gt_index]
        ious = bbox_overlaps(boxes[pos], bbox_targets[pos], is_aligned=True)
        if isinstance(assigner, TaskAlignedAssigner):
            # Each ground truth's alignment metrics, rescaled so that its best equals its best IoU.
            metrics = result.assign_metrics[pos]
            num_gts = len(gt_instances)
            best_metric = metrics.new_zeros(num_gts).scatter_reduce(0, gt_index, metrics, 'amax', include_self=False)
            best_iou = ious.new_zeros(num_gts).scatter_reduce(0, gt_index, ious, 'amax', include_self=False)
            soft_targets[pos] = metrics / (best_metric[gt_index] + SCORE_EPS) * best_iou[gt_index]
        else:
            soft_targets[pos] = ious
        return labels, bbox_targets, soft_targets

    def _build_assigner(self, cfg: dict, key: str):
        assigner = TASK_UTILS.build(cfg)
        self._check_assigner(assigner, key)
        return assigner

    def _check_assigner(self, assigner, key: str):
        if not isinstance(assigner, _ASSIGNERS):
            raise TypeError(
                f'{type(self).__name__} train_cfg.{key} must be one of '
                f'{[a.__name__ for a in _ASSIGNERS]}, got {type(assigner).__name__}'
            )

    # ---- inference ---------------------------------------------------------------------------------------
    def _predict_by_feat_single(
        self,
        cls_score_list: List[Tensor],
        bbox_pred_list: List[Tensor],
        score_factor_list: List[Tensor],
        mlvl_priors: List[Tensor],
        img_meta: dict,
        cfg,
        rescale: bool = False,
        with_nms: bool = True,
    ) -> InstanceData:
        # GFLHead's decoding, without its sigmoid: these scores are probabilities already.
        cfg = self.test_cfg if cfg is None else cfg
        nms_pre = cfg.get('nms_pre', -1)
        bboxes, scores, labels = [], [], []
        for cls_score, bbox_pred, stride, priors in zip(
            cls_score_list, bbox_pred_list, self.prior_generator.strides, mlvl_priors
        ):
            distances = self.integral(bbox_pred.permute(1, 2, 0)) * stride[0]
            level_scores = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            level_scores, level_labels, _, kept = filter_scores_and_topk(
                level_scores, cfg.score_thr, nms_pre, dict(distances=distances, priors=priors)
            )
            centers = self.anchor_center(kept['priors'])
            bboxes.append(self.bbox_coder.decode(centers, kept['distances'], max_shape=img_meta['img_shape']))
            scores.append(level_scores)
            labels.append(level_labels)
        results = InstanceData(bboxes=torch.cat(bboxes), scores=torch.cat(scores), labels=torch.cat(labels))
        return self._bbox_post_process(results=results, cfg=cfg, rescale=rescale, with_nms=with_nms, img_meta=img_meta)


@MODELS.register_module()
class PicoHead(PicoHeadV2):
    """PicoDet v1 head (``PicoHead`` with ``PicoFeat(share_cls_reg=True)``), for v1 PicoDet-LCNet weights such
    as PP-Structure's layout models: the same towers without the SE gate and the align branch (score =
    ``sigmoid(cls)``), SimOTA assignment (candidate top-k 10, IoU weight 6), DFL 0.25, GIoU 2.0. PaddleDetection
    predicts classes and box distributions with one conv; here they are two (the converter splits it)."""

    def __init__(
        self,
        *args,
        use_se: bool = False,
        use_align_head: bool = False,
        loss_bbox: dict = dict(type='GIoULoss', loss_weight=2.0),
        loss_dfl: dict = dict(type='DistributionFocalLoss', loss_weight=0.25),
        **kwargs,
    ):
        super().__init__(
            *args, use_se=use_se, use_align_head=use_align_head, loss_bbox=loss_bbox, loss_dfl=loss_dfl, **kwargs
        )
