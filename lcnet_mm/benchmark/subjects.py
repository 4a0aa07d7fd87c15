"""What a benchmark measures: a model from a config (or a timm model by name, or a Transformers model folder),
and the part of it timed."""

import json
import os.path as osp
from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from lcnet_mm.deploy import RawOutputs, model_kind

PARTS = ('model', 'backbone')
TIMM_PREFIX = 'timm:'
TRANSFORMERS_PREFIX = 'transformers:'


@dataclass
class Subject:
    name: str
    spec: str  # config path, timm:<model name> or transformers:<model folder>
    checkpoint: Optional[str]
    part: str  # 'model': the whole network up to its raw outputs; 'backbone': the backbone alone
    model: nn.Module  # the full model, eval mode
    network: nn.Module  # what is timed and exported: images -> tuple of tensors
    kind: str  # classifier, detector or module
    config: object = None  # mmengine Config, None for timm models

    @property
    def file_name(self) -> str:
        """The name, safe as a file or directory name."""
        return ''.join(c if c.isalnum() or c in '-_.' else '_' for c in self.name)


class TimmFeatures(nn.Module):
    """A timm classifier's feature extractor (``forward_features``) as images -> (feature map, )."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.eval()

    def forward(self, images):
        return (self.model.forward_features(images),)


def build_subject(
    spec: str,
    checkpoint: Optional[str] = None,
    part: str = 'model',
    cfg_options: dict = None,
    name: Optional[str] = None,
) -> Subject:
    if part not in PARTS:
        raise ValueError(f'part must be one of {PARTS}, got {part!r}')
    if spec.startswith(TIMM_PREFIX):
        return _timm_subject(spec, checkpoint, part, name)
    if spec.startswith(TRANSFORMERS_PREFIX):
        return _transformers_subject(spec, checkpoint, part, name)
    from lcnet_mm.builder import build_model_from_config

    model, cfg = build_model_from_config(spec, checkpoint, cfg_options)
    if checkpoint is None:
        calibrate_norm_statistics(model.backbone if hasattr(model, 'backbone') else model)
    kind = model_kind(model)
    if part == 'backbone':
        if not hasattr(model, 'backbone'):
            raise ValueError(f'{spec}: the model ({type(model).__name__}) has no backbone to time with --part backbone')
        network = RawOutputs(model.backbone)  # a plain module: its output tensors, flattened
    else:
        network = RawOutputs(model)
    default_name = osp.splitext(osp.basename(spec))[0] + (' [backbone]' if part == 'backbone' else '')
    return Subject(name or default_name, spec, checkpoint, part, model, network, kind, cfg)


def calibrate_norm_statistics(
    network: nn.Module, input_size=(224, 224), batches: int = 4, batch_size: int = 8, seed: int = 0
) -> int:
    """Give a randomly initialised network the BN statistics of its own activations on random images.

    With the initial statistics (mean 0, variance 1) activations shrink layer after layer towards zero
    and denormal floats, which makes random-weight timings unrepresentative (denormals take slow paths)
    and output comparisons meaningless. Returns the number of norm layers calibrated.
    """
    norms = [m for m in network.modules() if isinstance(m, _BatchNorm) and m.track_running_stats]
    if not norms:
        return 0
    saved = [(m, m.momentum) for m in norms]
    generator = torch.Generator().manual_seed(seed)
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    network.train()
    with torch.no_grad():
        for _ in range(batches):
            network(torch.randn(batch_size, 3, *input_size, generator=generator))
    for m, momentum in saved:
        m.momentum = momentum
    network.eval()
    return len(norms)


def _timm_subject(spec: str, checkpoint: Optional[str], part: str, name: Optional[str]) -> Subject:
    import timm

    model_name = spec[len(TIMM_PREFIX) :]
    if model_name not in timm.list_models():
        raise ValueError(f'{spec}: timm has no model {model_name!r} (e.g. timm:lcnet_100, timm:mobilenetv3_large_100)')
    if checkpoint is not None:
        raise ValueError(
            f'{spec}: timm models are benchmarked with random weights (no download); give no '
            'checkpoint, or convert the weights (tools/convert_weights.py) and use a config'
        )
    model = timm.create_model(model_name, pretrained=False).eval()
    calibrate_norm_statistics(model)
    network = TimmFeatures(model) if part == 'backbone' else RawOutputs(model)
    default_name = model_name + (' (timm) [backbone]' if part == 'backbone' else ' (timm)')
    return Subject(name or default_name, spec, None, part, model, network, 'classifier', None)


def _transformers_subject(spec: str, checkpoint: Optional[str], part: str, name: Optional[str]) -> Subject:
    """A Transformers model from its folder (``config.json`` + ``model.safetensors``), timed in eager mode on
    the same input as the other models: the reference its users run today. Transformers is not one of this
    project's dependencies; the subject needs it installed beside them."""
    folder = spec[len(TRANSFORMERS_PREFIX) :]
    config_file = osp.join(folder, 'config.json')
    if not osp.isfile(config_file) or not osp.isfile(osp.join(folder, 'model.safetensors')):
        raise ValueError(f'{spec}: expected a Transformers model folder with config.json and model.safetensors')
    if checkpoint is not None:
        raise ValueError(f"{spec}: the weights are the folder's model.safetensors; give no checkpoint")
    if part != 'model':
        raise ValueError(f'{spec}: a Transformers model is timed whole (--part model), not {part!r}')
    try:
        import transformers
    except ImportError:
        raise ValueError(
            f'{spec}: the transformers package is not installed; it is not a dependency of lcnet-mm: install it '
            'to time a Transformers model beside ours (pip install transformers)'
        ) from None
    with open(config_file) as f:
        architectures = json.load(f).get('architectures') or []
    model_class = getattr(transformers, architectures[0], None) if architectures else None
    if model_class is None:
        raise ValueError(
            f'{spec}: config.json names the architecture {architectures[:1]}, which transformers '
            f'{transformers.__version__} does not have'
        )
    # local files only, safetensors only (no pickle), no code from the folder
    model = model_class.from_pretrained(folder, local_files_only=True, use_safetensors=True).eval()
    default_name = f'{osp.basename(osp.normpath(folder))} (Transformers)'
    return Subject(name or default_name, spec, None, part, model, RawOutputs(model), 'module', None)
