"""lcnet-mm's modules in mmdet's registries: imported by them on their first look-up (see
:mod:`lcnet_mm.registry`)."""

from lcnet_mm.datasets.synthetic_detection import SyntheticShapesCoco  # noqa: F401
from lcnet_mm.datasets.synthetic_text import SyntheticTextCoco  # noqa: F401
from lcnet_mm.engine.atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from lcnet_mm.engine.budgeted_train_loop import BudgetedEpochBasedTrainLoop, BudgetedIterBasedTrainLoop  # noqa: F401
from lcnet_mm.engine.cpu_amp_optim_wrapper import CpuAmpOptimWrapper  # noqa: F401
from lcnet_mm.engine.data_check_hook import DataCheckHook  # noqa: F401
from lcnet_mm.engine.train_time_hook import TrainTimeHook  # noqa: F401
from lcnet_mm.engine.training_mode_hook import TrainingModeHook  # noqa: F401
from lcnet_mm.engine.weights_only_checkpoint_hook import WeightsOnlyCheckpointHook  # noqa: F401
from lcnet_mm.evaluation.text_det_metric import TextDetMetric  # noqa: F401
from lcnet_mm.models.backbones import PPLCNet, PPLCNetV2, PPLCNetV3  # noqa: F401
from lcnet_mm.models.dense_heads import DBHead, LDPicoHead, LDPicoHeadV2, PicoHead, PicoHeadV2, SSDHeadCompat  # noqa: F401
from lcnet_mm.models.detectors import DistilledSingleStageDetector  # noqa: F401
from lcnet_mm.models.losses.db_loss import DBLoss  # noqa: F401
from lcnet_mm.models.losses.probability_varifocal_loss import ProbabilityVarifocalLoss  # noqa: F401
from lcnet_mm.models.necks import CSPPAN, LCPAN, RSEFPN  # noqa: F401
from lcnet_mm.registry import register_in_toolbox

register_in_toolbox('mmdet')
