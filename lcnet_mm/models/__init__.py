"""The networks: backbones, necks, heads, detectors, classifiers and losses. Names are imported from their
modules on first use, so that a model of one toolbox does not import the others."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'backbones': ('PPLCNet', 'PPLCNetV2', 'PPLCNetV3', 'stage_out_channels', 'widths_of'),
        'classifiers': ('DistilledImageClassifier',),
        'dense_heads': ('DBHead', 'LDPicoHead', 'LDPicoHeadV2', 'PicoHead', 'PicoHeadV2', 'SSDHeadCompat'),
        'detectors': ('DistilledSingleStageDetector',),
        'heads': ('LCNetClsHead',),
        'losses': ('DKDLoss', 'ProbabilityVarifocalLoss', 'SoftTargetKLLoss'),
        'necks': ('CSPPAN', 'LCPAN', 'RSEFPN'),
    },
)
