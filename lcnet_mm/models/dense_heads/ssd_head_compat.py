from mmdet.models.dense_heads import SSDHead

from lcnet_mm.registry import MODELS


@MODELS.register_module()
class SSDHeadCompat(SSDHead):
    """mmdet's ``SSDHead``, able to predict under mmdet 3.3.0.

    mmdet 3.3.0's ``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls``, which ``SSDHead``
    never sets (it computes its loss with ``F.cross_entropy``), so every SSD prediction fails with
    ``AttributeError: 'SSDHead' object has no attribute 'loss_cls'`` (open-mmlab/mmdetection#11780).
    Nothing else changes: the weights and the state dict keys are those of ``SSDHead``.
    """

    loss_cls = None  # no custom classification activation: softmax, as SSDHead intends
