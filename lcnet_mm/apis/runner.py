"""The Runner every tool here trains and tests with: the config's runner, after everything that can be checked
before it is built was checked (data on disk, the model's values, the checkpoint), so that a bad input is one
named error before mmengine's config dump, not a traceback after it."""

import copy
from typing import Optional, Sequence

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from lcnet_mm.builder import build_model_from_config
from lcnet_mm.datasets import check_annotation_files, check_data_paths
from lcnet_mm.io import read_checkpoint
from lcnet_mm.utils import ConfigError, InputError
from .model_checks import check_backbone_channels


class RunConfig(Config):
    """mmengine's ``Config`` whose ``pretty_text`` is formatted once for each content. mmengine's Runner writes the
    config's text into every checkpoint it saves, and formatting it (yapf) takes about half a second each time: in a
    short run, more than its training steps. The text is formatted again whenever the config has changed."""

    @classmethod
    def of(cls, cfg: Config) -> 'RunConfig':
        """A copy of ``cfg`` (deep: changing one leaves the other as it is)."""
        other = cls.__new__(cls)
        for key, value in copy.deepcopy(cfg).__dict__.items():  # as Config.__copy__ fills its copy
            super(Config, other).__setattr__(key, value)
        return other

    @property
    def pretty_text(self) -> str:
        content = repr(self._cfg_dict.to_dict())
        cached = self.__dict__.get('_pretty_text_of')
        if cached is None or cached[0] != content:
            cached = (content, super().pretty_text)
            super(Config, self).__setattr__('_pretty_text_of', cached)
        return cached[1]


def build_checked_runner(
    cfg: Config, loaders: Sequence[str] = ('train_dataloader', 'val_dataloader', 'test_dataloader')
) -> Runner:
    """The runner of ``cfg`` (``runner_type`` if it names one), after :func:`check_run_inputs` on the data sets of
    ``loaders`` (those the tool will use)."""
    check_run_inputs(cfg, loaders)
    cfg = RunConfig.of(cfg)
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def check_run_inputs(cfg: Config, loaders: Sequence[str]) -> None:
    """Raise an :class:`~lcnet_mm.utils.InputError` naming what is wrong, before a Runner is built:
    - data sets not where the config says, broken annotation files;
    - a model the config's values do not build (a bad ``out_indices``, an unknown type), or whose neck's (or head's)
      input channels do not match the backbone's outputs (otherwise a shape error in the first forward pass);
    - a ``load_from`` checkpoint that cannot be read or does not fit that model (read as the runner reads it)."""
    check_annotation_files(cfg, loaders)  # a file that is there but broken first: it names what is wrong in it
    check_data_paths(cfg, loaders)
    model = _checked_model(cfg)
    checkpoint = _checkpoint_to_load(cfg)
    if checkpoint is not None:
        _check_checkpoint(model, checkpoint)


def _check_checkpoint(model, checkpoint: str) -> None:
    """Read ``checkpoint`` as the runner will and load it into ``model``: our modules refuse what does not fit them
    (another width, a tensor missing or left over); tensors of other shapes elsewhere (a classifier of another class
    count: fine-tuning) are the runner's to skip, with its warnings."""
    try:
        content = read_checkpoint(checkpoint)
    except InputError:
        raise
    except (ValueError, FileNotFoundError) as error:
        raise InputError(f'checkpoint {checkpoint}: {error}') from None
    state_dict = content.get('state_dict', content) if isinstance(content, dict) else content
    if not isinstance(state_dict, dict):
        raise InputError(f'checkpoint {checkpoint}: expected a state dict, got {type(state_dict).__name__}')
    state_dict = {key[len('module.') :] if key.startswith('module.') else key: v for key, v in state_dict.items()}
    try:
        model.load_state_dict(state_dict, strict=False)
    except RuntimeError:  # torch's size mismatches of other modules (our modules raise InputErrors)
        pass


def _checked_model(cfg: Config):
    where = cfg.filename or 'the config'
    try:
        model, _ = build_model_from_config(cfg, set_default_scope=False)
    except InputError:
        raise
    except (ValueError, TypeError, KeyError, AssertionError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise ConfigError(f'{where}: the model cannot be built: {message}') from None
    try:
        check_backbone_channels(model)
    except ValueError as error:
        raise ConfigError(f'{where}: {error}') from None
    return model


def _checkpoint_to_load(cfg: Config) -> Optional[str]:
    """The file the runner will load: ``load_from``, unless a resume looks for the latest checkpoint itself."""
    load_from = cfg.get('load_from')
    return load_from if load_from and not (cfg.get('resume') and load_from == 'auto') else None
