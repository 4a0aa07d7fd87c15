"""Structured pruning with Torch-Pruning (DepGraph): what it leaves of PP-LCNet and PP-LCNetV2 is a config (their
``widths``) plus a checkpoint that loads into it strictly and computes exactly what the pruned network did; the
ratio a target needs, and the shares of iterative pruning. tools/prune.py: test_prune_tool.py."""

import copy

import pytest
import torch
import torch_pruning as tp

from lcnet_mm import PPLCNet, PPLCNetV2
from lcnet_mm.models import widths_of
from test_deploy import trained_like


def prune_in_memory(backbone, ratio: float, importance) -> None:
    """Torch-Pruning's uniform pruning of every channel group but the stem's, widths rounded to multiples of 8."""
    pruner = tp.pruner.MetaPruner(
        backbone,
        torch.randn(1, 3, 96, 96),
        importance=importance,
        pruning_ratio=ratio,
        ignored_layers=[backbone.stem],
        round_to=8,
    )
    pruner.step()


BACKBONES = [
    (PPLCNet, dict(scale=1.0, out_indices=(2, 3, 4))),
    (PPLCNetV2, dict(arch='small', out_indices=(2, 3, 4))),
]


@pytest.mark.parametrize('cls, kwargs', BACKBONES, ids=['v1', 'v2'])
@pytest.mark.parametrize(
    'importance', [tp.importance.GroupMagnitudeImportance(p=1), tp.importance.FPGMImportance()], ids=['l1', 'fpgm']
)
def test_a_pruned_backbone_is_its_widths_plus_a_strict_checkpoint(tmp_path, cls, kwargs, importance):
    backbone = trained_like(cls(**kwargs))
    before = widths_of(backbone)
    prune_in_memory(backbone, 0.3, importance)
    widths = widths_of(backbone)
    assert widths['stem'] == before['stem']  # the stem is kept
    assert sum(p.numel() for p in backbone.parameters()) < 0.6 * sum(p.numel() for p in cls(**kwargs).parameters())
    outs = [block if isinstance(block, int) else block['out'] for stage in widths['blocks'] for block in stage]
    assert all(width % 8 == 0 for width in outs) and outs != [
        block if isinstance(block, int) else block['out'] for stage in before['blocks'] for block in stage
    ]
    path = tmp_path / 'pruned.pth'
    torch.save({'state_dict': backbone.state_dict()}, path)

    rebuilt = cls(**kwargs, widths=widths).eval()
    rebuilt.load_state_dict(torch.load(path, weights_only=True)['state_dict'], strict=True)
    # (the pruned module's own out_channels attribute still says what it was built with: the rebuilt one is right)
    last = [stage[-1] if isinstance(stage[-1], int) else stage[-1]['out'] for stage in widths['blocks'][2:]]
    assert rebuilt.out_channels == tuple(last)
    images = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        for expected, actual in zip(backbone.eval()(images), rebuilt(images)):
            assert torch.equal(expected, actual)


def test_a_pruned_pplcnetv2_still_re_parameterises():
    backbone = trained_like(PPLCNetV2(arch='small', out_indices=(3, 4)))
    prune_in_memory(backbone, 0.4, tp.importance.GroupMagnitudeImportance(p=2))
    rebuilt = trained_like(PPLCNetV2(arch='small', out_indices=(3, 4), widths=widths_of(backbone)))
    rebuilt.load_state_dict(copy.deepcopy(backbone.state_dict()), strict=True)
    deployed = copy.deepcopy(rebuilt).switch_to_deploy()
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        for expected, actual in zip(rebuilt(images), deployed(images)):
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)


def test_search_ratio_finds_the_least_ratio_that_meets_the_target():
    from lcnet_mm.deploy.pruning import search_ratio
    from lcnet_mm.utils import ConfigError

    calls = []

    def macs(ratio):  # falls in steps of 1/16, as rounded widths do
        calls.append(ratio)
        return 100 * (1 - int(ratio * 16) / 16) ** 2

    ratio, reached = search_ratio(macs, 50.0, '--target-macs 50')
    assert reached <= 50 and macs(ratio - 1 / 16) > 50  # one step less would miss it
    assert len(calls) == 1 + 1 + 7 + 1
    with pytest.raises(ConfigError, match=r'--target-macs 200: the unpruned model is already at 100'):
        search_ratio(macs, 200.0, '--target-macs 200')
    with pytest.raises(ConfigError, match=r'--target-macs 0.5 is out of reach: pruning 90% of the channels leaves'):
        search_ratio(macs, 0.5, '--target-macs 0.5')


@pytest.mark.parametrize('ratio, steps', [(0.5, 1), (0.5, 2), (0.3, 3), (0.6, 4)])
def test_step_ratios_remove_the_ratio_together(ratio, steps):
    from lcnet_mm.deploy.pruning import step_ratios

    shares = step_ratios(ratio, steps)
    left = 1.0
    for share in shares:
        assert 0 < share < 1
        left *= 1 - share
    assert len(shares) == steps and left == pytest.approx(1 - ratio)


def test_a_segmentor_with_several_auxiliary_heads_is_refused_by_name():
    from pathlib import Path

    from lcnet_mm.apis import build_model_from_config
    from lcnet_mm.deploy.pruning import prunable_backbone
    from lcnet_mm.utils import ConfigError

    config = Path(__file__).resolve().parents[1] / 'configs' / 'demos' / 'lcnet_deeplabv3plus_shapes.py'
    model, _ = build_model_from_config(str(config))
    assert prunable_backbone(model) is model.backbone  # one auxiliary head: prunable
    model.auxiliary_head = torch.nn.ModuleList([model.auxiliary_head, copy.deepcopy(model.auxiliary_head)])
    with pytest.raises(ConfigError, match='auxiliary_head is a list of 2 heads'):
        prunable_backbone(model)
