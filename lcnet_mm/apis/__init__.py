"""What the tools use: the top floor, above everything else of lcnet_mm."""

from lcnet_mm.builder import build_model_from_config, load_config, toolbox_of
from lcnet_mm.engine.training_config import disable_amp, enable_amp, set_time_budget, training_mode_hooks
from .cli import (
    NAMED_ERRORS,
    add_debug_argument,
    add_quantization_arguments,
    add_runner_arguments,
    build_runner_config,
    check_quantization_arguments,
    checkpoint_exists,
    parse_runner_arguments,
    prepare_distributed,
    run_tool,
)
from .model_checks import check_backbone_channels
from .runner import build_checked_runner, check_run_inputs

__all__ = [
    'NAMED_ERRORS',
    'add_debug_argument',
    'check_run_inputs',
    'run_tool',
    'add_quantization_arguments',
    'add_runner_arguments',
    'build_checked_runner',
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
    'set_time_budget',
    'toolbox_of',
    'training_mode_hooks',
]
