"""State dicts that do not fit a model: finding the tensors, naming the file they came from.

mmengine's non-strict loading only *warns* when a tensor has another shape than the model's. That is
right for a classifier head of another ``num_classes`` (the fine-tuning path), and wrong for a backbone
of another width, which would load half-way and train on silently. So lcnet-mm's own modules refuse
tensors of other shapes in their ``_load_from_state_dict`` (:func:`refuse_shape_mismatches`), and nothing
else changes for any other model.

The tensors a checkpoint was read into carry the name of their file (:func:`remember_source`), so that
the error can name it wherever the loading started: mmengine's runner (``load_from``, ``--resume``, named
by ``WeightsOnlyCheckpointHook``), this project's loaders, or the checkpoint schemes.
"""

from typing import Callable, Dict, List, Optional, Sequence, Union

import torch

from lcnet_mm.utils import InputError

_SOURCE_ATTRIBUTE = '_lcnet_mm_source'
_COUNTER = 'num_batches_tracked'


def remember_source(content, source: str) -> None:
    """Tag every tensor of a (possibly nested) checkpoint dict with the file it came from."""
    if isinstance(content, torch.Tensor):
        setattr(content, _SOURCE_ATTRIBUTE, source)
    elif isinstance(content, dict):
        for value in content.values():
            remember_source(value, source)


def source_of(tensors: Dict) -> Optional[str]:
    """The file the first tagged tensor of ``tensors`` came from, or None."""
    for value in tensors.values():
        source = getattr(value, _SOURCE_ATTRIBUTE, None)
        if source is not None:
            return source
    return None


def shape_mismatches(state_dict: Dict, shapes: Dict, ours: str = 'file', theirs: str = 'expected') -> List[str]:
    """``'key: file (a, b) vs expected (c, d)'`` for every key of both whose shapes differ, in file order."""
    return [
        f'{key}: {ours} {tuple(value.shape)} vs {theirs} {tuple(shapes[key])}'
        for key, value in state_dict.items()
        if key in shapes and hasattr(value, 'shape') and tuple(value.shape) != tuple(shapes[key])
    ]


class CheckpointMismatchError(InputError):
    """A checkpoint's tensors have other shapes than the model's (another width, another layout)."""

    def __init__(self, source: Optional[str], model: str, mismatched: Sequence[str], hint: str):
        self.source, self.model, self.mismatched, self.hint = source, model, list(mismatched), hint
        shown = self.mismatched[:4]
        super().__init__(
            f'{source or "the checkpoint"} does not fit the model ({model}): {len(self.mismatched)} '
            f'tensors have other shapes, e.g. {shown}. {hint}'
        )

    def with_source(self, source: str) -> 'CheckpointMismatchError':
        """The same error naming ``source``, where the loader knew the file and the model did not."""
        if self.source or not source:
            return self
        return CheckpointMismatchError(source, self.model, self.mismatched, self.hint)


class ForeignCheckpointError(CheckpointMismatchError):
    """A checkpoint that holds none of the model's tensors: another network's (an ImageNet ResNet that an
    mmseg config names in ``model.pretrained``, say). mmengine would load nothing and only warn."""

    def __init__(self, source: Optional[str], model: str, mismatched: Sequence[str], hint: str):
        self.source, self.model, self.mismatched, self.hint = source, model, list(mismatched), hint
        ValueError.__init__(
            self,
            f'{source or "the checkpoint"} holds none of the tensors of the model ({model}); its keys start '
            f'{self.mismatched[:4]}. {hint}',
        )

    def with_source(self, source: str) -> 'ForeignCheckpointError':
        if self.source or not source:
            return self
        return ForeignCheckpointError(source, self.model, self.mismatched, self.hint)


class CheckpointKeysError(CheckpointMismatchError):
    """A checkpoint that holds some of a module's tensors but not all of them, or others beside them (a head
    conv with a bias where the model's has none). mmengine's non-strict loading would only warn and run the
    model with the tensors it lacks at their initial values, or without the ones it does not know."""

    def __init__(self, source: Optional[str], model: str, missing: Sequence[str], unexpected: Sequence[str], hint: str):
        self.source, self.model, self.hint = source, model, hint
        self.missing, self.unexpected = list(missing), list(unexpected)
        self.mismatched = self.missing + self.unexpected
        problems = [
            f'{what} {keys[:4]}{" ..." if len(keys) > 4 else ""}'
            for what, keys in (('missing', self.missing), ('unexpected', self.unexpected))
            if keys
        ]
        ValueError.__init__(
            self, f'{source or "the checkpoint"} does not fit the model ({model}): {"; ".join(problems)}. {hint}'
        )

    def with_source(self, source: str) -> 'CheckpointKeysError':
        if self.source or not source:
            return self
        return CheckpointKeysError(source, self.model, self.missing, self.unexpected, self.hint)


def refuse_key_mismatches(
    module: torch.nn.Module, state_dict: Dict, prefix: str, model: str, hint: Union[str, Callable] = ''
) -> None:
    """For a module's ``_load_from_state_dict``: raise :class:`CheckpointKeysError` if ``state_dict`` holds some
    of the module's tensors (under ``prefix``) but not all of them, or others beside them. ``hint``: what to do,
    or ``hint(missing, unexpected)`` for a hint that depends on the keys. A checkpoint with none of them (a
    backbone-only file loaded into a whole model) is left to the loader; BN's ``num_batches_tracked`` counters
    are not weights and not compared."""
    own = {f'{prefix}{key}' for key in module.state_dict() if not key.endswith(_COUNTER)}
    given = {key for key in state_dict if key.startswith(prefix) and not key.endswith(_COUNTER)}
    if not own & given:
        return
    missing, unexpected = sorted(own - given), sorted(given - own)
    if missing or unexpected:
        hint = hint(missing, unexpected) if callable(hint) else hint
        source = source_of({key: state_dict[key] for key in given})
        raise CheckpointKeysError(source, model, missing, unexpected, hint)


def refuse_foreign_checkpoint(module: torch.nn.Module, state_dict: Dict, prefix: str, model: str, hint: str) -> None:
    """For a module's ``_load_from_state_dict``: raise :class:`ForeignCheckpointError` if ``state_dict`` has
    tensors under ``prefix`` (or, at the top, any at all) but not one of the module's own."""
    relevant = [key for key in state_dict if key.startswith(prefix)]
    own = {f'{prefix}{key}' for key in module.state_dict()}
    if relevant and not own.intersection(relevant):
        raise ForeignCheckpointError(source_of({k: state_dict[k] for k in relevant}), model, sorted(relevant), hint)


def refuse_shape_mismatches(
    module: torch.nn.Module, state_dict: Dict, prefix: str, model: str, hint: str, only: str = ''
) -> None:
    """For a module's ``_load_from_state_dict``: raise :class:`CheckpointMismatchError` if a tensor under
    ``prefix + only`` has another shape than the module's own."""
    own = {f'{prefix}{key}': value.shape for key, value in module.state_dict().items() if key.startswith(only)}
    mismatched = shape_mismatches(state_dict, own, ours='checkpoint', theirs='model')
    if mismatched:
        raise CheckpointMismatchError(
            source_of({key: state_dict[key] for key in own if key in state_dict}), model, mismatched, hint
        )
