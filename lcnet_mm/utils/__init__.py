from .cli import build_runner_config, toolbox_of

__all__ = ['build_runner_config', 'toolbox_of']
