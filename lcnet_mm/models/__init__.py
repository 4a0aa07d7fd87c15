from .backbones import PPLCNet, PPLCNetV2
from .classifiers import DistilledImageClassifier
from .dense_heads import LDPicoHead, LDPicoHeadV2, PicoHead, PicoHeadV2, SSDHeadCompat
from .detectors import DistilledSingleStageDetector
from .heads import LCNetClsHead
from .losses import DKDLoss, ProbabilityVarifocalLoss, SoftTargetKLLoss
from .necks import CSPPAN, LCPAN

__all__ = [
    'PPLCNet',
    'PPLCNetV2',
    'LCNetClsHead',
    'LCPAN',
    'CSPPAN',
    'PicoHeadV2',
    'PicoHead',
    'LDPicoHeadV2',
    'LDPicoHead',
    'DistilledSingleStageDetector',
    'ProbabilityVarifocalLoss',
    'DistilledImageClassifier',
    'SoftTargetKLLoss',
    'DKDLoss',
    'SSDHeadCompat',
]
