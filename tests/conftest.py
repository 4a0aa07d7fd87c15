import pytest
import torch

import lcnet_mm  # noqa: F401  (registers PPLCNet / LCNetClsHead)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def mmpretrain_scope():
    """Build mmpretrain models (ImageClassifier, its data preprocessor) in mmpretrain's scope, whatever
    scope an earlier test left current."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield
