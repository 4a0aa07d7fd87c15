from .cli import (add_checkpoint_safety, add_runner_arguments, build_runner_config, parse_runner_arguments,
                  prepare_distributed, toolbox_of)

__all__ = ['add_checkpoint_safety', 'add_runner_arguments', 'build_runner_config', 'parse_runner_arguments',
           'prepare_distributed', 'toolbox_of']
