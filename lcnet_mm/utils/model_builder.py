"""Build the model of an mmdet or mmpretrain config outside a Runner (for export, folding, benchmarks)."""

from typing import Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import init_default_scope

from .cli import load_config, toolbox_of


def build_model_from_config(
    config, checkpoint: Optional[str] = None, cfg_options: Optional[dict] = None, architecture_only: bool = True
) -> Tuple[nn.Module, Config]:
    """The config's model, in eval mode, with ``checkpoint`` loaded if given.

    ``config`` is a path or a loaded :class:`Config`. With ``architecture_only`` the backbone's
    ``init_cfg`` (e.g. a Pretrained file that exists only on the training machine) is dropped: the
    checkpoint, or random weights, are what count. Checkpoints load strictly through
    :func:`lcnet_mm.io.load_checkpoint` (weights only whatever torch's defaults; errors name the file); one
    behind a checkpoint scheme (``paddle://``, ``timm://``, ``hf://``) is converted first, as mmengine's
    loader would.
    """
    import lcnet_mm  # noqa: F401  (registers the modules)
    from lcnet_mm.converters import CHECKPOINT_SCHEMES, is_scheme
    from lcnet_mm.io import load_checkpoint

    cfg = load_config(config, cfg_options) if isinstance(config, str) else config
    scope = toolbox_of(cfg)
    init_default_scope(scope)
    registry = __import__(f'{scope}.registry', fromlist=['MODELS']).MODELS
    model_cfg = cfg.model.copy()
    # mmpretrain configs give the data preprocessor (mean, std, RGB) at the top level; the Runner moves it
    # into the model, and so must anything else that builds the model (predictions, calibration images).
    if cfg.get('data_preprocessor') is not None and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    if architecture_only and isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone = model_cfg.backbone.copy()
        model_cfg.backbone.pop('init_cfg', None)
    model = registry.build(model_cfg)
    if checkpoint is not None:
        converted = None
        if is_scheme(checkpoint):
            converted = CHECKPOINT_SCHEMES[checkpoint[: checkpoint.index('://') + 3]](checkpoint)
        load_checkpoint(model, checkpoint, strict=True, content=converted)
    model.eval()
    return model, cfg
