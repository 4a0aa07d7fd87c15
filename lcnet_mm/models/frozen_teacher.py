"""The frozen teacher of a distilled student, shared by the classifier and the detector.

A teacher is a config (a file, or a toolbox's ``mmdet::...`` / ``mmpretrain::...`` config) and its weights. It
is built on first use (the runner's ``init_weights``, before the first iteration), loaded strictly (a teacher
that is only partly loaded would teach noise without a word), frozen, kept in eval mode whatever
``model.train()`` does, and stored outside the module tree: it is not in the student's ``state_dict``,
``parameters()``, optimizer or DDP wrapper, so the student's checkpoints load into the plain student config.
"""

import glob
import os

import torch
import torch.nn as nn
from mmengine.runner import find_latest_checkpoint

from lcnet_mm.builder import build_model_from_config, load_config
from lcnet_mm.io import is_url


def resolve_checkpoint(path: str) -> str:
    """A checkpoint file, a scheme path (``paddle://``, ``hf://``, ...), or a work dir: its one best
    checkpoint, else the one ``last_checkpoint`` names."""
    if is_url(path) or os.path.isfile(path):
        return path
    if os.path.isdir(path):
        best = sorted(glob.glob(os.path.join(path, 'best_*.pth')))
        if len(best) == 1:
            return best[0]
        latest = find_latest_checkpoint(path)  # what last_checkpoint names
        if latest:
            return latest
        raise FileNotFoundError(
            f'teacher checkpoint: {path} is a folder with no best_*.pth (or several) and no last_checkpoint'
        )
    raise FileNotFoundError(f'teacher checkpoint {path!r} does not exist')


def build_frozen_teacher(config: str, checkpoint: str, scope: str) -> nn.Module:
    """The model of ``config`` (a file or a toolbox's ``mmpretrain::...`` config) built in the toolbox ``scope``
    with the weights of ``checkpoint`` loaded strictly, frozen."""
    try:
        cfg = load_config(config)
    except FileNotFoundError as error:
        raise FileNotFoundError(f'teacher {error}') from None
    checkpoint = resolve_checkpoint(checkpoint)
    # scope kept: building the teacher must not change the scope the student's run is in
    teacher, _ = build_model_from_config(cfg, checkpoint, scope=scope, set_default_scope=False)
    teacher.requires_grad_(False)
    return teacher.eval()


def _values(tensor):
    return None if tensor is None else [round(v, 4) for v in tensor.flatten().tolist()]


def _channel_conversion(preprocessor) -> bool:
    """Whether a data preprocessor swaps BGR to RGB (mmdet/mmseg: ``_channel_conversion``, mmpretrain:
    ``to_rgb``)."""
    return bool(getattr(preprocessor, '_channel_conversion', getattr(preprocessor, 'to_rgb', False)))


class FrozenTeacherMixin:
    """The ``teacher`` of a student model: ``dict(config=..., checkpoint=...)`` given to :meth:`set_teacher`,
    built on first use in the toolbox ``teacher_scope``, checked against the student by :meth:`check_teacher`."""

    teacher_scope: str

    def set_teacher(self, teacher: dict) -> None:
        if not isinstance(teacher, dict) or set(teacher) != {'config', 'checkpoint'}:
            raise ValueError(f'teacher must be dict(config=..., checkpoint=...), got {teacher!r}')
        self.teacher_cfg = dict(teacher)
        object.__setattr__(self, '_teacher', None)  # a plain attribute: outside the module tree

    @property
    def teacher(self) -> nn.Module:
        """The frozen teacher, built on first use (the runner's ``init_weights`` before training): testing,
        exporting or counting the student needs no teacher."""
        if self._teacher is None:
            frozen = build_frozen_teacher(
                self.teacher_cfg['config'], self.teacher_cfg['checkpoint'], self.teacher_scope
            )
            self.check_teacher(frozen)
            object.__setattr__(self, '_teacher', frozen)
        return self._teacher

    def teacher_named(self) -> str:
        return f'the teacher ({self.teacher_cfg["config"]}, {self.teacher_cfg["checkpoint"]})'

    def check_teacher(self, teacher: nn.Module) -> None:
        """Raise a ``ValueError`` naming what differs if ``teacher`` cannot teach this student (a subclass adds
        what its task needs to :meth:`check_normalisation`)."""
        self.check_normalisation(teacher)

    def check_normalisation(self, teacher: nn.Module) -> None:
        """The teacher sees the student's preprocessed batch: both must normalise images alike."""
        ours, theirs = self.data_preprocessor, teacher.data_preprocessor
        for name in ('mean', 'std'):
            student, teach = getattr(ours, name, None), getattr(theirs, name, None)
            if (student is None) != (teach is None) or (student is not None and not torch.equal(student, teach)):
                raise ValueError(
                    f'{self.teacher_named()} normalises images with {name} {_values(teach)}, the student with '
                    f"{_values(student)}: the teacher sees the student's preprocessed batch; use one normalisation"
                )
        if _channel_conversion(ours) != _channel_conversion(theirs):
            raise ValueError(f'{self.teacher_named()} and the student differ in bgr_to_rgb')

    def teacher_on(self, device) -> nn.Module:
        teacher = self.teacher
        if next(teacher.parameters()).device != device:
            teacher.to(device)
        return teacher

    def _apply(self, fn, *args, **kwargs):
        # .to(device / dtype / memory_format), .cuda(), .float(): the teacher follows the student (the
        # training-mode hook's channels-last included), though it is not a child module.
        teacher = getattr(self, '_teacher', None)  # None too while the student itself is being built
        if teacher is not None:
            teacher._apply(fn, *args, **kwargs)
        return super()._apply(fn, *args, **kwargs)

    def init_weights(self) -> None:
        super().init_weights()
        self.teacher.eval()  # built and checked before the first iteration

    def train(self, mode: bool = True):
        super().train(mode)
        if getattr(self, '_teacher', None) is not None:
            self._teacher.eval()  # its BN statistics and dropout stay those of its checkpoint
        return self
