"""The Runner every tool here trains and tests with: the config's runner, checked before anything runs."""

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from lcnet_mm.datasets import check_annotation_files
from .model_checks import check_backbone_channels


def build_checked_runner(cfg: Config) -> Runner:
    """The runner of ``cfg`` (``runner_type`` if it names one), after its annotation files were checked (a broken
    JSON file named here, not inside pycocotools), with the neck's input channels checked against the backbone
    (a mismatch named here, not as a shape error in the first forward pass)."""
    check_annotation_files(cfg)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    check_backbone_channels(getattr(runner.model, 'module', runner.model))
    return runner
