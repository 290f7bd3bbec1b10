"""skorch estimators for the two training stages of M2S (Liu et al., 2025).

- :class:`M2MCPCPretrainer` (stage 1): self-supervised pretraining of the
  M2S encoders on unlabelled multimodal data; ``transform`` gives
  embeddings; ``to_classifier`` starts stage 2.
- :class:`M2SClassifier` (stage 2, and stage 1 first when the model is not
  pretrained): a classifier on the frozen pretrained encoders, in the
  paper's single-modality and cross-modal modes.
- :class:`TrialValidSplit`: a validation split of whole training trials.
- :class:`AcceleratedM2MCPCPretrainer`, :class:`AcceleratedM2SClassifier`:
  both, trained through ``accelerate`` (DistributedDataParallel on several
  GPUs or CPU processes).
- :func:`reference_pretraining`: the authors' stage-1 settings.
- :func:`eeg_path_recipe`: the measured settings of every mode at the authors' sizes.
"""

from .classifier import M2SClassifier
from .distributed import AcceleratedM2MCPCPretrainer, AcceleratedM2SClassifier
from .presets import eeg_path_recipe, reference_pretraining
from .pretrainer import M2MCPCPretrainer
from .splits import TrialValidSplit

__all__ = [
    "M2SClassifier",
    "M2MCPCPretrainer",
    "TrialValidSplit",
    "AcceleratedM2MCPCPretrainer",
    "AcceleratedM2SClassifier",
    "reference_pretraining",
    "eeg_path_recipe",
]
