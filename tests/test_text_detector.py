"""The PP-OCR mobile text detector in mmdet: PPLCNetV3 + RSEFPN + DBHead in mmdet's SingleStageDetector, trained
from text polygons (mmdet PolygonMasks) and predicting one instance per text region."""

from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.mask import PolygonMasks
from mmengine.structures import InstanceData

TEXT_DETECTOR = dict(
    type='SingleStageDetector',
    data_preprocessor=dict(type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375]),
    backbone=dict(type='PPLCNetV3', arch='det', scale=0.35),
    neck=dict(type='RSEFPN', in_channels=[5, 8, 19, 168], out_channels=32),
    bbox_head=dict(type='DBHead', in_channels=32),
    test_cfg=dict(box_thresh=0.5),
)


def sample_with_text(height=128, width=160):
    sample = DetDataSample(
        metainfo=dict(img_shape=(height, width), ori_shape=(2 * height, 2 * width), batch_input_shape=(height, width))
    )
    words = [[20, 30, 120, 30, 120, 60, 20, 60], [30, 80, 140, 90, 138, 110, 28, 100]]
    sample.gt_instances = InstanceData(
        masks=PolygonMasks([[np.array(w, dtype=np.float64)] for w in words], height, width),
        labels=torch.zeros(2, dtype=torch.long),
        bboxes=torch.tensor([[20, 30, 120, 60], [28, 80, 140, 110]], dtype=torch.float32),
    )
    sample.ignored_instances = InstanceData(
        masks=PolygonMasks([[np.array([5, 5, 15, 5, 15, 15, 5, 15], dtype=np.float64)]], height, width),
        labels=torch.zeros(1, dtype=torch.long),
        bboxes=torch.tensor([[5, 5, 15, 15]], dtype=torch.float32),
    )
    return sample


@pytest.fixture
def detector():
    from mmdet.registry import MODELS
    from mmengine.registry import DefaultScope

    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(TEXT_DETECTOR)
    model.init_weights()
    return model


def test_a_training_step_gives_the_three_db_losses_and_gradients(detector):
    detector.train()
    images = torch.rand(2, 3, 128, 160) * 255
    losses = detector.loss(images, [sample_with_text(), sample_with_text()])
    assert set(losses) == {'loss_probability', 'loss_threshold', 'loss_binary'}
    total = sum(losses.values())
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert detector.backbone.stem.conv.weight.grad.abs().sum() > 0
    assert detector.bbox_head.threshold.upsample2.weight.grad.abs().sum() > 0


def test_predictions_are_instances_with_boxes_quads_and_masks_at_the_original_size(detector, monkeypatch):
    detector.eval()

    def one_word(x):  # the probability branch made high on one word: its region comes back at the original size
        probability = torch.zeros(x.shape[0], 1, 128, 160)
        probability[:, :, 40:50, 30:110] = 0.9
        return probability

    monkeypatch.setattr(detector.bbox_head.probability, 'forward', one_word)
    (result,) = detector.predict(torch.rand(1, 3, 128, 160) * 255, [sample_with_text()])
    instances = result.pred_instances
    assert len(instances) == 1 and instances.labels.tolist() == [0]
    assert instances.quads.shape == (1, 4, 2) and instances.masks.shape == (1, 256, 320)
    x0, y0, x1, y1 = instances.bboxes[0].tolist()
    assert 2 * 30 - 20 < x0 < 2 * 30 and 2 * 110 < x1 < 2 * 110 + 20 and y0 < 80 < 100 < y1
    assert instances.scores[0] == pytest.approx(0.9, abs=0.01)


# ---- the published architecture through mmdet's tools, on Transformers-layout weights ----------------------------
ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = ROOT / 'configs' / 'text_detection' / 'dbnet_pplcnetv3-x0.75_rsefpn_ppocrv5-mobile-det.py'
HF_FIXTURE = ROOT / 'tests' / 'fixtures' / 'hf_ppocr_det'


@pytest.fixture(scope='module')
def hf_weights(tmp_path_factory) -> str:
    """The Transformers fixture (the published configuration, random weights) as a hf:// checkpoint path."""
    from conftest import hf_model_folder

    return f'hf://{hf_model_folder(HF_FIXTURE, tmp_path_factory.mktemp("PP-OCRv5_mobile_det_safetensors"))}'


def test_the_published_detector_runs_through_tools_test_and_draws_its_regions(hf_weights, tmp_path):
    # in its own process, as a user runs it: the runner's visualizer and loggers are process-wide instances
    from tool_process import run_tool

    proc = run_tool(
        'test',
        PUBLISHED,
        hf_weights,
        '--work-dir',
        tmp_path / 'work',
        '--show-dir',
        'vis',
        '--cfg-options',
        f'test_dataloader.dataset.data_root={tmp_path / "text"}',
        'test_dataloader.dataset.num_images=2',
        # random weights: a low region score, so that there are regions to draw
        'model.test_cfg.box_thresh=0.3',
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert all(f'icdar/{name}: ' in proc.stdout for name in ('precision', 'recall', 'hmean')), proc.stdout[-2000:]
    drawn = sorted((tmp_path / 'work').rglob('vis/*.jpg'))
    assert len(drawn) == 2


def test_det_inferencer_predicts_text_regions_with_polygon_masks_and_draws_them(hf_weights):
    from mmdet.apis import DetInferencer

    from lcnet_mm.datasets.synthetic_text import font_files, render_text_image

    inferencer = DetInferencer(model=str(PUBLISHED), weights=hf_weights, device='cpu', show_progress=False)
    assert list(inferencer.model.dataset_meta['classes']) == ['text']  # from the converted checkpoint
    image, _ = render_text_image(np.random.default_rng(0), font_files())
    inferencer.model.bbox_head.test_cfg.update(box_thresh=0.3)
    result = inferencer(image, return_vis=True, no_save_vis=True)
    prediction = result['predictions'][0]
    assert len(prediction['bboxes']) == len(prediction['scores']) == len(prediction['masks']) > 0
    assert set(prediction['labels']) == {0}
    drawn = result['visualization'][0]
    assert drawn.shape == image.shape and (drawn != image[..., ::-1]).any()
