"""Registry of the baselines: name -> factory, for evaluations and ``m2s reproduce``.

Every factory has the signature
``factory(n_chans=None, n_outputs=None, modalities=None, random_state=None,
max_epochs=None, **kwargs)`` and returns an unfitted scikit-learn classifier
with ``train_modalities`` / ``test_modalities`` parameters. ``modalities``
sets both (``None``: the baseline's default, see below); ``max_epochs=None``
keeps the baseline's default; ``kwargs`` go to the baseline (``chs_info``
for ``dgcnn``, ``n_times`` for ``eegnet``, any estimator parameter).

=============  ==========================================  ===========  ===========
name           method                                      default      cross-modal
=============  ==========================================  ===========  ===========
de_svm         DE features + StandardScaler + linear SVM   ``["x"]``    no
de_logreg      DE features + StandardScaler + logistic     ``["x"]``    no
unimodal       window encoder on one modality              ``["x"]``    no
fusion         feature-level fusion of window encoders     all of X     no
dcca           deep CCA + classifier on projections        all of X     yes
bdae           bimodal deep autoencoder + classifier       all of X     yes
cross_cpc      Cross-CPC + classifier on pooled latents    all of X     yes
clip_only      M2S trained with CLIP-style alignment only  all of X     yes
dgcnn          braindecode DGCNN on DE features            ``["x"]``    no
eegnet         braindecode EEGNet on raw EEG windows       ``["x"]``    no
=============  ==========================================  ===========  ===========

"Cross-modal" baselines accept ``test_modalities`` different from
``train_modalities`` (trained on A's representation, tested on B's); the
others refuse it with a ``ValueError`` but accept a subset of the training
modalities (absent ones filled with their training mean).
"""

from __future__ import annotations

from .bdae import BDAEClassifier
from .braindecode_models import dgcnn, eegnet
from .clip_only import clip_only
from .cross_cpc import CrossCPCClassifier
from .dcca import DCCAClassifier
from .feature_pipelines import de_logreg, de_svm
from .fusion import FusionClassifier, UnimodalClassifier

__all__ = ["BASELINES", "CROSS_MODAL_BASELINES", "EEG_ONLY_BASELINES", "ONE_MODALITY_BASELINES"]


def _modality_kwargs(modalities):
    if modalities is None:
        return {}
    mods = [modalities] if isinstance(modalities, str) else list(modalities)
    return dict(train_modalities=mods, test_modalities=mods)


def _epochs(max_epochs):
    return {} if max_epochs is None else {"max_epochs": max_epochs}


def _pipeline_factory(make):
    def factory(
        n_chans=None, n_outputs=None, modalities=None, random_state=None, max_epochs=None, **kwargs
    ):
        return make(
            modality="x" if modalities is None else modalities, random_state=random_state, **kwargs
        )

    factory.__doc__ = f"Registry factory of :func:`{make.__name__}` (``max_epochs`` unused)."
    return factory


def _estimator_factory(cls):
    def factory(
        n_chans=None, n_outputs=None, modalities=None, random_state=None, max_epochs=None, **kwargs
    ):
        return cls(
            random_state=random_state,
            **_modality_kwargs(modalities),
            **_epochs(max_epochs),
            **kwargs,
        )

    factory.__doc__ = f"Registry factory of :class:`{cls.__name__}`."
    return factory


def _dgcnn(
    n_chans=None,
    n_outputs=None,
    modalities=None,
    random_state=None,
    max_epochs=None,
    chs_info=None,
    **kwargs,
):
    """Registry factory of :func:`dgcnn` (needs ``n_chans``, ``n_outputs``, ``chs_info``)."""
    _eeg_only("dgcnn", modalities)
    return dgcnn(
        n_chans, n_outputs, chs_info, random_state=random_state, **_epochs(max_epochs), **kwargs
    )


def _eegnet(
    n_chans=None,
    n_outputs=None,
    modalities=None,
    random_state=None,
    max_epochs=None,
    n_times=None,
    **kwargs,
):
    """Registry factory of :func:`eegnet` (needs ``n_chans``, ``n_outputs``, ``n_times``)."""
    _eeg_only("eegnet", modalities)
    return eegnet(
        n_chans, n_outputs, n_times, random_state=random_state, **_epochs(max_epochs), **kwargs
    )


def _clip_only(
    n_chans=None, n_outputs=None, modalities=None, random_state=None, max_epochs=None, **kwargs
):
    """Registry factory of :func:`clip_only` (signal parameters inferred from X)."""
    return clip_only(
        random_state=random_state, **_modality_kwargs(modalities), **_epochs(max_epochs), **kwargs
    )


def _eeg_only(name, modalities):
    if modalities is not None and list(
        [modalities] if isinstance(modalities, str) else modalities
    ) != ["x"]:
        raise ValueError(
            f"Baseline {name!r} reads EEG only: `modalities` must be None or ['x'], "
            f"got {modalities!r}."
        )


#: name -> factory(n_chans, n_outputs, modalities, random_state, max_epochs, **kwargs)
BASELINES = {
    "de_svm": _pipeline_factory(de_svm),
    "de_logreg": _pipeline_factory(de_logreg),
    "unimodal": _estimator_factory(UnimodalClassifier),
    "fusion": _estimator_factory(FusionClassifier),
    "dcca": _estimator_factory(DCCAClassifier),
    "bdae": _estimator_factory(BDAEClassifier),
    "cross_cpc": _estimator_factory(CrossCPCClassifier),
    "clip_only": _clip_only,
    "dgcnn": _dgcnn,
    "eegnet": _eegnet,
}

#: baselines whose ``test_modalities`` may differ from ``train_modalities``
CROSS_MODAL_BASELINES = frozenset({"dcca", "bdae", "cross_cpc", "clip_only"})

#: baselines that read EEG (``x``) only
EEG_ONLY_BASELINES = frozenset({"dgcnn", "eegnet"})

#: baselines trained on one modality at a time (``train_modalities`` of length 1)
ONE_MODALITY_BASELINES = frozenset({"unimodal", "dgcnn", "eegnet"})
