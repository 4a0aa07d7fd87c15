import torch.nn as nn


def switch_to_deploy(model: nn.Module) -> list:
    """Call ``switch_to_deploy()`` on every part of ``model`` that has one (the outermost such module;
    it handles its own children), e.g. a classifier's backbone and head or a detector's backbone.

    Returns the names of the switched modules, empty when nothing in the model has a deploy form.
    """
    switched = []

    def visit(module: nn.Module, name: str):
        if callable(getattr(module, 'switch_to_deploy', None)):
            module.switch_to_deploy()
            switched.append(name or type(module).__name__)
            return
        for child_name, child in module.named_children():
            visit(child, f'{name}.{child_name}' if name else child_name)

    visit(model, '')
    return switched
