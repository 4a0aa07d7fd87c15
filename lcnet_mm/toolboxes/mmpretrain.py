"""lcnet-mm's modules in mmpretrain's registries: imported by them on their first look-up (see
:mod:`lcnet_mm.registry`)."""

from lcnet_mm.datasets.synthetic_classification import SyntheticShapesClassification  # noqa: F401
from lcnet_mm.engine.atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from lcnet_mm.engine.budgeted_train_loop import BudgetedEpochBasedTrainLoop, BudgetedIterBasedTrainLoop  # noqa: F401
from lcnet_mm.engine.cpu_amp_optim_wrapper import CpuAmpOptimWrapper  # noqa: F401
from lcnet_mm.engine.data_check_hook import DataCheckHook  # noqa: F401
from lcnet_mm.engine.train_time_hook import TrainTimeHook  # noqa: F401
from lcnet_mm.engine.training_mode_hook import TrainingModeHook  # noqa: F401
from lcnet_mm.engine.weights_only_checkpoint_hook import WeightsOnlyCheckpointHook  # noqa: F401
from lcnet_mm.models.backbones import PPLCNet, PPLCNetV2, PPLCNetV3  # noqa: F401
from lcnet_mm.models.classifiers import DistilledImageClassifier  # noqa: F401
from lcnet_mm.models.heads import LCNetClsHead  # noqa: F401
from lcnet_mm.models.losses.distillation import DKDLoss, SoftTargetKLLoss  # noqa: F401
from lcnet_mm.registry import register_in_toolbox

register_in_toolbox('mmpretrain')
