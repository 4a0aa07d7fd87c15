from .cli import (
    add_quantization_arguments,
    add_runner_arguments,
    build_runner_config,
    check_quantization_arguments,
    checkpoint_exists,
    disable_amp,
    enable_amp,
    load_config,
    parse_runner_arguments,
    prepare_distributed,
    toolbox_of,
    training_mode_hooks,
)
from .model_builder import build_model_from_config
from .model_checks import check_backbone_channels

__all__ = [
    'add_quantization_arguments',
    'add_runner_arguments',
    'build_model_from_config',
    'build_runner_config',
    'checkpoint_exists',
    'check_backbone_channels',
    'check_quantization_arguments',
    'disable_amp',
    'enable_amp',
    'load_config',
    'parse_runner_arguments',
    'prepare_distributed',
    'toolbox_of',
    'training_mode_hooks',
]
