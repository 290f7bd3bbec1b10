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

import lazy_loader as _lazy

_EXPORTS = {
    "classifier": ["M2SClassifier"],
    "pretrainer": ["M2MCPCPretrainer"],
    "splits": ["TrialValidSplit"],
    "distributed": ["AcceleratedM2MCPCPretrainer", "AcceleratedM2SClassifier"],
    "presets": ["reference_pretraining", "eeg_path_recipe"],
}
_SUBMODULES = ["base", "classifier", "distributed", "inputs", "presets", "pretrainer", "splits"]

# imported on first use (PEP 562), so the top level can read this list cheaply
__getattr__, _lazy_dir, _ = _lazy.attach(__name__, _SUBMODULES, _EXPORTS)

__all__ = [name for names in _EXPORTS.values() for name in names]


def __dir__():
    return sorted({*globals(), *_lazy_dir()})
