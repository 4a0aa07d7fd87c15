"""The DB head (Liao et al., 2020, "Real-time Scene Text Detection with Differentiable Binarization"), as
PaddleOCR's text detectors use it: a probability map and a threshold map at the input image's resolution, and
their differentiable binarization while training. As an mmdet dense head: ``loss`` from the text polygons of the
data samples (``gt_instances.masks``, mmdet's ``PolygonMasks``; ``ignored_instances`` are masked out), ``predict``
to one instance per text region (box, score, label 0, its quadrilateral and mask)."""

from typing import List

import cv2
import numpy as np
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmengine.model import BaseModule
from mmengine.structures import InstanceData

from lcnet_mm.registry import MODELS
from lcnet_mm.utils import check_int, check_positive_number
from ..losses.db_loss import DBLoss  # noqa: F401  (registers the default loss)
from .db_postprocess import text_regions
from .db_targets import db_targets

# PaddleOCR's DBPostProcess settings (its PP-OCRv5 mobile det config)
DEFAULT_TEST_CFG = dict(thresh=0.3, box_thresh=0.6, unclip_ratio=1.5, max_candidates=1000)


class DBMapBranch(nn.Module):
    """One map from the neck's stride-4 features: 3x3 conv + norm + ReLU to C/4 channels, a 2x2 stride-2
    transposed conv (with bias) + norm + ReLU, a 2x2 stride-2 transposed conv to one channel, sigmoid."""

    def __init__(self, in_channels: int, norm_cfg: dict = dict(type='BN')):
        super().__init__()
        mid = in_channels // 4
        self.conv = ConvModule(in_channels, mid, 3, padding=1, bias=False, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
        self.upsample1 = nn.ConvTranspose2d(mid, mid, 2, stride=2)
        self.norm1 = build_norm_layer(norm_cfg, mid)[1]
        self.upsample2 = nn.ConvTranspose2d(mid, 1, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm1(self.upsample1(self.conv(x))))
        return torch.sigmoid(self.upsample2(x))


@MODELS.register_module()
class DBHead(BaseModule):
    """Probability and threshold maps of text regions, each a :class:`DBMapBranch`.

    In eval mode only the probability map is computed (the threshold map is a training signal). In training
    the forward returns ``(probability, threshold, binary)``, ``binary = sigmoid(k * (probability - threshold))``:
    the step function made differentiable, so the threshold map learns where text borders are.

    Args:
        in_channels (int): Channels of the neck's output (96 in PP-OCRv4/v5 mobile det); a multiple of 4.
        k (float): Steepness of the differentiable binarization (50, as DB and PaddleOCR).
        norm_cfg (dict): Norm layer config.
        loss (dict): The loss (``DBLoss``: PaddleOCR's weights).
        train_cfg (dict | None): ``shrink_ratio`` (0.4), ``min_text_size`` (8), ``thresh_min`` / ``thresh_max`` (0.3 /
            0.7) of the targets (:func:`db_targets`).
        test_cfg (dict | None): :func:`text_regions` settings; default PaddleOCR's (thresh 0.3, box_thresh 0.6,
            unclip_ratio 1.5, max_candidates 1000).
        init_cfg (dict | list[dict]): Norm weight 1 and bias 1e-4 (PaddleOCR's), Kaiming-uniform transposed convs.
    """

    def __init__(
        self,
        in_channels: int = 96,
        k: float = 50,
        norm_cfg: dict = dict(type='BN'),
        loss: dict = dict(type='lcnet_mm.DBLoss'),
        train_cfg: dict = None,
        test_cfg: dict = None,
        init_cfg=(
            dict(type='Kaiming', layer=['Conv2d', 'ConvTranspose2d'], mode='fan_in', distribution='uniform'),
            dict(type='Constant', layer='_BatchNorm', val=1.0, bias=1e-4),
        ),
    ):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg)
        check_int(in_channels, 'DBHead in_channels', minimum=4)
        if in_channels % 4:
            raise ValueError(f'DBHead in_channels must be a multiple of 4, got {in_channels}')
        self.k = check_positive_number(k, 'DBHead k')
        self.probability = DBMapBranch(in_channels, norm_cfg)
        self.threshold = DBMapBranch(in_channels, norm_cfg)
        self.loss_db = MODELS.build(loss)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(DEFAULT_TEST_CFG, **(test_cfg or {}))

    def forward(self, x):
        if isinstance(x, (list, tuple)):  # an mmdet neck's tuple of one map
            (x,) = x
        probability = self.probability(x)
        if not self.training:
            return probability
        threshold = self.threshold(x)
        binary = torch.sigmoid(self.k * (probability - threshold))
        return probability, threshold, binary

    def loss(self, x, batch_data_samples) -> dict:
        maps = self(x)
        height, width = maps[0].shape[-2:]
        targets = [self._targets(sample, height, width) for sample in batch_data_samples]
        stacked = [torch.from_numpy(np.stack(t)).to(maps[0].device) for t in zip(*targets)]
        return self.loss_db(maps, *stacked)

    def _targets(self, sample, height: int, width: int):
        polygons, ignored = [], []
        for instances, ignore in ((sample.gt_instances, False), (sample.get('ignored_instances'), True)):
            if instances is None or 'masks' not in instances:
                continue
            for parts in instances.masks.masks:  # PolygonMasks: per instance a list of flat [x0, y0, x1, ...]
                for flat in parts:
                    polygons.append(np.asarray(flat, dtype=np.float64).reshape(-1, 2))
                    ignored.append(ignore)
        return db_targets(polygons, ignored, height, width, **self.train_cfg)

    def predict(self, x, batch_data_samples, rescale: bool = True) -> List[InstanceData]:
        maps = self(x)
        probability = maps[0] if isinstance(maps, tuple) else maps  # (the three maps in training mode)
        return self.predict_by_feat(probability, [sample.metainfo for sample in batch_data_samples], rescale)

    def predict_by_feat(self, probability, batch_img_metas: List[dict], rescale: bool = True) -> List[InstanceData]:
        """Text regions from probability maps (N, 1, H, W): the model's own, or an exported graph's output (given
        as a one-element list, the way :mod:`lcnet_mm.deploy` groups a dense head's outputs)."""
        if isinstance(probability, (list, tuple)):
            (probability,) = probability
        return [self._regions(p[0], meta, rescale) for p, meta in zip(probability, batch_img_metas)]

    def _regions(self, probability: torch.Tensor, meta: dict, rescale: bool) -> InstanceData:
        height, width = meta['img_shape']  # the image before padding to the batch shape
        size = tuple(meta['ori_shape']) if rescale else (height, width)
        regions = text_regions(probability[:height, :width].float().cpu().numpy(), size, **self.test_cfg)
        quads = torch.from_numpy(regions.quads)
        results = InstanceData()
        results.quads = quads
        results.bboxes = torch.cat([quads.min(1).values, quads.max(1).values], dim=1)
        results.scores = torch.from_numpy(regions.scores)
        results.labels = torch.zeros(len(quads), dtype=torch.long)
        masks = np.zeros((len(quads), *size), dtype=np.uint8)
        for mask, quad in zip(masks, regions.quads):
            cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1)
        results.masks = torch.from_numpy(masks).bool()
        return results
