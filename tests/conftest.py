import pytest
import torch

import lcnet_mm  # noqa: F401  (registers PPLCNet / LCNetClsHead)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
