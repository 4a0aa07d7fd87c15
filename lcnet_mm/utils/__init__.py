from .cli import (
    add_runner_arguments,
    build_runner_config,
    disable_amp,
    enable_amp,
    load_config,
    parse_runner_arguments,
    prepare_distributed,
    toolbox_of,
)
from .model_builder import build_model_from_config
from .model_checks import check_backbone_channels

__all__ = [
    'add_runner_arguments',
    'build_model_from_config',
    'build_runner_config',
    'check_backbone_channels',
    'disable_amp',
    'enable_amp',
    'load_config',
    'parse_runner_arguments',
    'prepare_distributed',
    'toolbox_of',
]
