"""Weight conversion: one module per source layout of PP-LCNet weights (PaddleClas / PaddleOCR, PaddleDetection
PicoDet, timm V1 and V2, Hugging Face Transformers), each with its row of :data:`FORMATS`, converted to lcnet-mm's
layout through the shared helpers of :mod:`.conversion`; and the checkpoint schemes that convert on load, one per
record's ``scheme``. Names are imported from their modules on first use."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        'checks': ('StateDictMismatchError', 'check_against_model'),
        'convert': ('convert_weights', 'detect_format', 'weight_file'),
        'formats': ('FORMATS', 'WeightFormat'),
        'hf_lcnet': ('hf_to_lcnet_mm',),
        'paddle_lcnet': ('paddle_to_lcnet_mm',),
        'paddle_lcnet_v2': ('paddle_v2_to_lcnet_mm',),
        'paddle_picodet': ('paddle_picodet_to_lcnet_mm',),
        'schemes': ('CHECKPOINT_SCHEMES', 'register_checkpoint_schemes'),
        'timm_lcnet': ('timm_to_lcnet_mm',),
        'timm_lcnet_v2': ('timm_v2_to_lcnet_mm',),
    },
)
