"""PaddleDetection PicoDet weights: converted by tools/convert_weights.py, they reproduce PaddleDetection's own
forward. The references were computed once with paddlepaddle 3.3.1 and paddledet 2.6.0
(tests/fixtures/paddle_picodet/make_reference.py, run in a throw-away environment): LCNet x0.35, random
weights and random BN statistics, a PicoDet v2 (LCPAN, PicoHeadV2) and a v1 (CSPPAN, PicoHead)."""

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures.bbox import distance2bbox
from mmengine.registry import init_default_scope

from conftest import load_tool, unpack_fixture

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / 'tests' / 'fixtures' / 'paddle_picodet'
LAYOUTS = {
    'picodet_v2_xs': dict(version=2, neck='LCPAN', neck_channels=96, stacked_convs=2, head='PicoHeadV2'),
    'picodet_v1_lcnet_x0_35': dict(version=1, neck='CSPPAN', neck_channels=128, stacked_convs=4, head='PicoHead'),
}
TOLERANCE = 1e-4  # relative to the largest reference value of each output


def unpack(name, tmp_path) -> Path:
    return unpack_fixture(FIXTURES / f'{name}.pdparams.gz', tmp_path / f'{name}.pdparams')


def converted_model(name, tmp_path):
    """tools/convert_weights.py on the Paddle file, then the detector it describes, loaded strictly."""
    from mmdet.registry import MODELS

    out = tmp_path / f'{name}.pth'
    assert load_tool('convert_weights').main([str(unpack(name, tmp_path)), str(out)]) == 0
    checkpoint = torch.load(out, weights_only=True)
    info = checkpoint['meta']['lcnet_mm_conversion']
    init_default_scope('mmdet')
    model = MODELS.build(
        dict(
            type='SingleStageDetector',
            **info['picodet']['model'],
            test_cfg=dict(nms_pre=1000, score_thr=0.025, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100),
        )
    )
    model.load_state_dict(checkpoint['state_dict'], strict=True)
    return model.eval(), info


def relative_error(ours, reference):
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


@pytest.mark.parametrize('name', LAYOUTS)
def test_converted_weights_reproduce_paddledetection(name, tmp_path):
    model, info = converted_model(name, tmp_path)
    expected = LAYOUTS[name]
    arch = info['picodet']
    assert (info['layout'], info['scale'], info['num_classes']) == ('paddle_picodet', 0.35, 5)
    assert (arch['version'], arch['neck'], arch['neck_channels'], arch['stacked_convs']) == (
        expected['version'],
        expected['neck'],
        expected['neck_channels'],
        expected['stacked_convs'],
    )
    assert type(model.bbox_head).__name__ == expected['head']

    reference = np.load(FIXTURES / f'{name}.npz')
    with torch.no_grad():
        scores, distributions = model(torch.from_numpy(reference['image']), mode='tensor')
    # raw per-level outputs: PaddleDetection lays them out as (1, H*W, channels)
    for level, (score, distribution) in enumerate(zip(scores, distributions)):
        ours_scores = score.flatten(2).transpose(1, 2).numpy()
        ours_distributions = distribution.flatten(2).transpose(1, 2).numpy()
        assert relative_error(ours_scores, reference[f'scores_{level}']) < TOLERANCE, level
        assert relative_error(ours_distributions, reference[f'distributions_{level}']) < TOLERANCE, level

    # decoded boxes of every prior (before NMS and without clipping, as PaddleDetection's export does)
    head = model.bbox_head
    sizes = [s.shape[-2:] for s in scores]
    priors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))
    strides = torch.cat([torch.full((h * w, 1), float(s[0])) for (h, w), s in zip(sizes, head.prior_generator.strides)])
    with torch.no_grad():
        flat = torch.cat([d.permute(0, 2, 3, 1).reshape(-1, 4 * (head.reg_max + 1)) for d in distributions])
        boxes = distance2bbox(head.anchor_center(priors), head.integral(flat) * strides).numpy()
    assert relative_error(boxes, reference['decoded_boxes'][0]) < TOLERANCE
    flat_scores = torch.cat([s.flatten(2) for s in scores], 2).numpy()
    assert relative_error(flat_scores, reference['decoded_scores']) < TOLERANCE


def test_paddle_scheme_loads_picodet_weights_into_a_config(tmp_path):
    """load_from='paddle://...' (the checkpoint scheme) converts the same file on load."""
    from mmengine.runner.checkpoint import _load_checkpoint

    path = unpack('picodet_v2_xs', tmp_path)
    loaded = _load_checkpoint(f'paddle://{path}')['state_dict']
    model, _ = converted_model('picodet_v2_xs', tmp_path)
    assert set(loaded) == set(model.state_dict())
    assert all(torch.equal(loaded[k], v) for k, v in model.state_dict().items())


def test_a_tampered_file_is_refused_with_the_key_named(tmp_path, capsys):
    path = unpack('picodet_v2_xs', tmp_path)
    state = pickle.load(open(path, 'rb'))
    state['head.head_cls_list.0.bias'] = state['head.head_cls_list.0.bias'] + 1  # no longer the same parameter
    pickle.dump(state, open(path, 'wb'), protocol=4)
    assert load_tool('convert_weights').main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert 'head.head_cls_list.0.bias should be a copy of head.head_cls0.bias' in capsys.readouterr().err

    del state['head.head_cls_list.0.bias']
    state['neck.conv_t.convs.0.conv.weight'] = state['neck.conv_t.convs.0.conv.weight'][:, :8]
    pickle.dump(state, open(path, 'wb'), protocol=4)
    assert load_tool('convert_weights').main([str(path), str(tmp_path / 'out.pth')]) == 2
    assert "shape mismatches ['neck.reduce_convs.0.conv.weight: file (96, 8, 1, 1) vs expected (96, 48, 1, 1)'" in (
        capsys.readouterr().err
    )


def test_config_check_names_a_picodet_of_another_size(tmp_path, capsys):
    path = unpack('picodet_v2_xs', tmp_path)
    xs = 'configs/picodet/picodet-xs_pplcnet-x0.35_4xb64-300e_coco-320.py'
    s = 'configs/picodet/picodet-s_pplcnet-x0.75_4xb64-300e_coco-320.py'
    tool = load_tool('convert_weights')
    # the fixture has 5 classes, the COCO config 80: the whole detector is compared
    assert tool.main([str(path), str(tmp_path / 'out.pth'), '--config', xs]) == 2
    err = capsys.readouterr().err
    assert "shape mismatches ['bbox_head.cls_preds.0.weight: file (5, 96, 1, 1) vs expected (80, 96, 1, 1)'" in err
    # only the class predictions differ: the message names the override (PP-Structure's CDLA / TableBank case)
    assert 'the file has 5 classes; use --cfg-options model.bbox_head.num_classes=5' in err
    assert (
        tool.main(
            [str(path), str(tmp_path / 'out.pth'), '--config', xs, '--cfg-options', 'model.bbox_head.num_classes=5']
        )
        == 0
    )
    assert 'fits' in capsys.readouterr().out
    assert (
        tool.main(
            [str(path), str(tmp_path / 'out.pth'), '--config', s, '--cfg-options', 'model.bbox_head.num_classes=5']
        )
        == 2
    )
    assert 'backbone.stem.conv.weight' in capsys.readouterr().err


def test_conversion_does_not_depend_on_the_current_scope(tmp_path, mmpretrain_scope):
    """A process where another toolbox's scope is current (after an mmpretrain run) converts the same way."""
    assert load_tool('convert_weights').main([str(unpack('picodet_v2_xs', tmp_path)), str(tmp_path / 'out.pth')]) == 0


def test_mmdet_inferencer_runs_a_picodet_config_on_paddle_weights(tmp_path):
    """mmdet's DetInferencer, as users call it, with PaddleDetection weights behind paddle://: the converted
    tensors are the model's, and it predicts boxes."""
    from mmdet.apis import DetInferencer

    path = unpack('picodet_v2_xs', tmp_path)
    config = tmp_path / 'picodet_xs_5_classes.py'
    xs = ROOT / 'configs' / 'picodet' / 'picodet-xs_pplcnet-x0.35_4xb64-300e_coco-320.py'
    config.write_text(f'_base_ = {str(xs)!r}\nmodel = dict(bbox_head=dict(num_classes=5))\n')
    inferencer = DetInferencer(model=str(config), weights=f'paddle://{path}', device='cpu', show_progress=False)
    expected, _ = converted_model('picodet_v2_xs', tmp_path)
    ours = inferencer.model.state_dict()
    assert all(torch.equal(ours[k], v) for k, v in expected.state_dict().items())
    image = np.random.default_rng(0).integers(0, 256, (240, 320, 3), dtype=np.uint8)
    predictions = inferencer(image, no_save_vis=True)['predictions'][0]
    assert len(predictions['bboxes']) == len(predictions['scores']) == len(predictions['labels'])
