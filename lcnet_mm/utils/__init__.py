from .cli import add_checkpoint_safety, build_runner_config, toolbox_of

__all__ = ['add_checkpoint_safety', 'build_runner_config', 'toolbox_of']
