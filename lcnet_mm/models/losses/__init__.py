from lcnet_mm.import_hooks import lazy_exports

# Lazy: the varifocal loss is mmdet's kind, the distillation losses mmpretrain's.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'db_loss': ('DBLoss',),
        'distillation': ('DKDLoss', 'SoftTargetKLLoss'),
        'probability_varifocal_loss': ('ProbabilityVarifocalLoss',),
    },
)
