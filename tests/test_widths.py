"""Explicit widths (``widths=``): a network with other channel counts than its scale gives, as a pruned one has,
described exactly by its config so that its checkpoint loads strictly; every bad width named."""

import copy

import pytest
import torch
from mmengine.runner import load_checkpoint

from lcnet_mm import PPLCNet, PPLCNetV2
from lcnet_mm.io import CheckpointMismatchError
from lcnet_mm.models import widths_of
from test_deploy import trained_like

# PP-LCNet's 13 blocks at other widths than any scale gives (as pruning leaves them), SE squeezes narrowed too
V1_WIDTHS = dict(
    stem=16,
    blocks=[
        [24],
        [40, 48],
        [96, 88],
        [160, 200, 184, 176, 168, 192],
        [dict(out=344, se=56), dict(out=384, se=72)],
    ],
)
# PP-LCNetV2 'small' (depths 1/2/2/4/2): stage 3 has SE and split pointwise convs, stage 4 shortcuts
V2_WIDTHS = dict(
    stem=24,
    blocks=[
        [40],
        [64, 80],
        [144, 160],
        [dict(out=288, se=56, mid=120), dict(out=272, se=64, mid=136), dict(out=304, se=48, mid=96), 256],
        [512, 512],
    ],
)


def test_the_widths_of_a_network_build_it_again():
    for model in (PPLCNet(scale=0.75), PPLCNetV2(arch='small')):
        widths = widths_of(model)
        rebuilt = type(model)(**({'arch': 'small'} if isinstance(model, PPLCNetV2) else {}), widths=widths)
        assert widths_of(rebuilt) == widths
        assert rebuilt.load_state_dict(model.state_dict(), strict=True)  # same keys, same shapes
    # SE squeezes the depthwise output, the block's input: 256 // 4, then 512 // 4
    assert widths_of(PPLCNet(scale=1.0))['blocks'][4] == [dict(out=512, se=64), dict(out=512, se=128)]


@pytest.mark.parametrize(
    'backbone, widths',
    [(dict(type='PPLCNet', scale=1.0), V1_WIDTHS), (dict(type='PPLCNetV2', arch='small'), V2_WIDTHS)],
    ids=['v1', 'v2'],
)
def test_a_checkpoint_of_explicit_widths_loads_strictly_into_its_config(tmp_path, backbone, widths):
    from mmdet.registry import MODELS

    cfg = dict(backbone, out_indices=(2, 3, 4), widths=widths)
    model = trained_like(MODELS.build(cfg))
    built = widths_of(model)
    assert built['stem'] == widths['stem']
    for given, read in zip(sum(widths['blocks'], []), sum(built['blocks'], [])):  # what was named is what was built
        given = given if isinstance(given, dict) else dict(out=given)
        assert {key: (read if isinstance(read, dict) else dict(out=read))[key] for key in given} == given
    assert model.out_channels == tuple(model.stage_channels[i] for i in (2, 3, 4))
    last = widths['blocks'][-1][-1]
    assert model.out_channels[-1] == (last['out'] if isinstance(last, dict) else last)
    path = tmp_path / 'pruned.pth'
    torch.save({'state_dict': model.state_dict()}, path)

    rebuilt = MODELS.build(copy.deepcopy(cfg)).eval()
    load_checkpoint(rebuilt, str(path), strict=True)
    images = torch.randn(2, 3, 96, 128)
    with torch.no_grad():
        for expected, actual in zip(model(images), rebuilt(images)):
            assert torch.equal(expected, actual)

    # the unpruned network's config refuses the checkpoint, naming widths among the causes
    with pytest.raises(CheckpointMismatchError, match='widths'):
        load_checkpoint(MODELS.build(dict(backbone, out_indices=(2, 3, 4))), str(path))


def test_a_pplcnetv2_of_explicit_widths_still_re_parameterises():
    model = trained_like(PPLCNetV2(arch='small', widths=V2_WIDTHS, out_indices=(3, 4)))
    deployed = copy.deepcopy(model).switch_to_deploy()
    assert widths_of(deployed) == widths_of(model)
    images = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        for expected, actual in zip(model(images), deployed(images)):
            torch.testing.assert_close(actual, expected, rtol=1e-4, atol=1e-4)
    # and the deploy form builds from the same widths, for its checkpoint
    direct = PPLCNetV2(arch='small', widths=V2_WIDTHS, out_indices=(3, 4), deploy=True)
    assert direct.load_state_dict(deployed.state_dict(), strict=True)


def _blocks(**changes):
    blocks = copy.deepcopy(V1_WIDTHS['blocks'])
    for (i, j), value in changes.get('at', {}).items():
        blocks[i][j] = value
    return blocks


@pytest.mark.parametrize(
    'widths, message',
    [
        ([16, 32], r'widths must be dict\(stem=<int>, blocks='),
        (dict(stem=16), r'widths must be dict\(stem=<int>, blocks='),
        (dict(blocks=_blocks(), scale=0.5), r'widths must be dict'),
        (dict(blocks=_blocks()[:4]), r'5 stages of \[1, 2, 2, 6, 2\] blocks; got \[1, 2, 2, 6\] blocks'),
        (dict(blocks=[[24], [40], [96, 88], [1] * 6, [8, 8]]), r'got \[1, 1, 2, 6, 2\] blocks'),
        (dict(stem=0, blocks=_blocks()), r'widths.stem must be a positive int, got 0'),
        (dict(blocks=_blocks(at={(1, 0): 40.0})), r'widths.blocks\[1\]\[0\] is 40.0: an int'),
        (dict(blocks=_blocks(at={(1, 1): 0})), r'widths.blocks\[1\]\[1\].out must be a positive int, got 0'),
        (dict(blocks=_blocks(at={(2, 0): True})), r'widths.blocks\[2\]\[0\] is True'),
        (dict(blocks=_blocks(at={(3, 0): dict(out=160, se=40)})), r'blocks\[3\]\[0\] names an SE width \(40\)'),
        (dict(blocks=_blocks(at={(4, 0): dict(out=344, mid=8)})), r'blocks\[4\]\[0\] names a middle width'),
        (dict(blocks=_blocks(at={(4, 1): dict(se=8)})), r'blocks\[4\]\[1\] is \{.se.: 8\}: an int'),
        (dict(blocks=_blocks(at={(4, 1): dict(out=8, se=0)})), r'blocks\[4\]\[1\].se must be a positive int'),
    ],
)
def test_bad_widths_are_named(widths, message):
    with pytest.raises(ValueError, match=rf'PPLCNet {message}' if message.startswith('widths') else message):
        PPLCNet(widths=widths)


def test_widths_must_split_into_a_group_norms_groups_and_keep_shortcuts():
    gn = dict(type='GN', num_groups=8)
    PPLCNet(widths=V1_WIDTHS, norm_cfg=gn)  # all multiples of 8
    with pytest.raises(ValueError, match=r'widths.blocks\[3\]\[1\].out=204 does not divide into the 8 groups'):
        PPLCNet(widths=dict(blocks=_blocks(at={(3, 1): 204})), norm_cfg=gn)
    # a shortcut adds a block's input to its output: their widths are one
    blocks = copy.deepcopy(V2_WIDTHS['blocks'])
    blocks[4][1] = 480
    with pytest.raises(ValueError, match=r'widths.blocks\[4\]\[1\] is 480, but the block adds its input .*, 512'):
        PPLCNetV2(arch='small', widths=dict(blocks=blocks))
