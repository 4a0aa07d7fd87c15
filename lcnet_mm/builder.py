"""One way to build a toolbox's model from a config, outside a Runner (mmdet's ``init_detector`` is the model):
what the tools, the frozen teacher of a distilled student and the PicoDet converter use.

A config is a file, a toolbox's own config by name (``'mmpretrain::resnet/resnetv1d50_8xb32_in1k.py'``, which
mmengine's ``Config.fromfile`` does not resolve and ``mmengine.hub.get_config`` does), or a loaded ``Config``. Its
toolbox is its ``default_scope``; the model is built in that toolbox's registry and scope.
"""

import importlib
import itertools
import os
import os.path as osp
from typing import Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.registry import DefaultScope

from .io import load_checkpoint
from .registry import TOOLBOXES
from .utils import ConfigError

PACKAGE_CONFIG = '::'
_SCOPE_INSTANCES = itertools.count()  # 'mmdet::fcos/...': a config shipped inside a toolbox's package


def load_config(config, cfg_options: Optional[dict] = None) -> Config:
    """``config`` (a path, ``'<toolbox>::<name>'`` or a ``Config``) with ``cfg_options`` merged in. A file that is
    not there is a :class:`~lcnet_mm.utils.ConfigError` that names it."""
    if isinstance(config, os.PathLike):
        config = os.fspath(config)
    if isinstance(config, Config):
        cfg = config
    elif isinstance(config, str) and PACKAGE_CONFIG in config:
        from mmengine.hub import get_config

        try:
            cfg = get_config(config)
        except (FileNotFoundError, ValueError, KeyError) as error:
            raise ConfigError(f'config {config!r} is not a config of that package ({error})') from None
    elif isinstance(config, str):
        if not osp.isfile(config):
            raise ConfigError(f'config file {config!r} does not exist')
        cfg = Config.fromfile(config)
    else:
        raise TypeError(f'config must be a path, a "<toolbox>::<name>" config or a Config, got {config!r}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def toolbox_of(cfg: Config, default: Optional[str] = None) -> str:
    """The toolbox a config belongs to, from its ``default_scope`` (``default`` where it has none)."""
    scope = cfg.get('default_scope') or default
    if scope not in TOOLBOXES:
        raise ConfigError(
            f'config default_scope is {scope!r}; lcnet-mm runs configs whose default_scope is one of {TOOLBOXES}'
        )
    return scope


def make_scope_current(toolbox: str) -> None:
    """Make ``toolbox`` the current default scope, as mmengine's ``init_default_scope`` does, without its warning
    when another scope was current: a process that builds models of several toolboxes (a benchmark of an mmdet
    and an mmpretrain config, a test session) switches on purpose."""
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != toolbox:
        DefaultScope.get_instance(f'{toolbox}-{next(_SCOPE_INSTANCES)}', scope_name=toolbox)


def build_module(cfg: dict, toolbox: str) -> nn.Module:
    """A model (or any module) config dict built by ``toolbox``'s registry, in its scope (a head's base class
    builds its coders and priors from the registry of the current scope)."""
    import lcnet_mm  # noqa: F401  (our modules, registered in every toolbox)

    registry = importlib.import_module(f'{toolbox}.registry').MODELS
    with DefaultScope.overwrite_default_scope(toolbox):
        return registry.build(cfg)


def build_model_from_config(
    config,
    checkpoint: Optional[str] = None,
    cfg_options: Optional[dict] = None,
    architecture_only: bool = True,
    scope: Optional[str] = None,
    set_default_scope: bool = True,
) -> Tuple[nn.Module, Config]:
    """The config's model in eval mode, with ``checkpoint`` loaded if given; returns ``(model, config)``.

    ``config``: see :func:`load_config`; ``scope`` names the toolbox where the config has no ``default_scope``.
    ``set_default_scope`` makes the toolbox's scope the current one, as mmdet's ``init_detector`` does, for what
    runs the model next (a model built inside a running Runner, a teacher, leaves the Runner's scope alone).
    With ``architecture_only`` the backbone's ``init_cfg`` (a Pretrained file that exists only on the training
    machine) is dropped: the checkpoint, or random weights, are what count. The checkpoint loads strictly through
    :func:`lcnet_mm.io.load_checkpoint` (weights only whatever torch's defaults; a local scheme such as
    ``paddle://`` converted on load; errors name the file).
    """
    cfg = load_config(config, cfg_options)
    toolbox = toolbox_of(cfg, scope)
    model_cfg = cfg.model.copy()
    # mmpretrain configs give the data preprocessor (mean, std, RGB) at the top level; the Runner moves it
    # into the model, and so must anything else that builds the model (predictions, calibration images).
    if cfg.get('data_preprocessor') is not None and 'data_preprocessor' not in model_cfg:
        model_cfg.data_preprocessor = cfg.data_preprocessor
    if architecture_only and isinstance(model_cfg.get('backbone'), dict):
        model_cfg.backbone = model_cfg.backbone.copy()
        model_cfg.backbone.pop('init_cfg', None)
    if set_default_scope:
        make_scope_current(toolbox)
    model = build_module(model_cfg, toolbox)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, strict=True)
    return model.eval(), cfg
