"""Metrics lcnet-mm adds to the toolboxes' evaluators (those the toolboxes do not have)."""

from lcnet_mm.import_hooks import lazy_exports

__getattr__, __dir__, __all__ = lazy_exports(
    __name__, {'text_det_metric': ('TextDetMetric', 'as_polygon', 'match_text_regions')}
)
