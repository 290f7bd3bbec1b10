"""The pipelines of the paper's comparison, built by name.

- ``"DE+SVM"`` / ``"DE+LR"``: the classic SEED baselines (Zheng & Lu, 2015):
  window-averaged DE features (and eye features, in the multimodal setting:
  feature-level fusion) standardized, then a linear SVM / logistic
  regression (the registry's ``de_svm`` / ``de_logreg``, their only
  definition, named as the paper's tables name them; both spellings are
  accepted).
- ``"M2S"``: :class:`~braindecode_m2s.training.M2SClassifier` (Liu et al.,
  AAAI 2025), evaluated in its four modes ``eeg2eeg``, ``eye2eye``,
  ``eeg2eye``, ``eye2eeg``.
- every baseline of :mod:`braindecode_m2s.baselines`' registry (DCCA, BDAE,
  Cross-CPC, CLIP only, fusion, DGCNN...), found at run time.

:func:`paper_pipelines` returns the pipelines and, for each, the modality
settings that make sense for it: every paper setting for the cross-modal
baselines (they can predict from a modality they were not trained on), the
multimodal and the two unimodal settings for the others.
:func:`check_pipeline_names` and :func:`check_pipeline_settings` check names
and settings before any data exist; :func:`pipelines_for` builds the
pipelines for some data, as the command line runs them.
"""

from __future__ import annotations

import inspect
import warnings

from ..utils.check import check_device
from .settings import PAPER_SETTINGS

__all__ = [
    "UnknownPipelineError",
    "paper_pipelines",
    "pipeline_names",
    "check_pipeline_names",
    "check_pipeline_settings",
    "pipelines_for",
    "m2s_kwargs",
    "check_device",
    "package_baselines",
    "make_m2s",
    "make_m2s_prototype",
    "M2S_SETTINGS",
    "UNIMODAL_SETTINGS",
    "SMALL_M2S",
    "for_modality",
]


class UnknownPipelineError(ValueError):
    """A pipeline name that :func:`paper_pipelines` does not know (a user error)."""


#: The four modes of M2S in the paper.
M2S_SETTINGS = tuple(s for s in PAPER_SETTINGS if s != "multimodal")
#: A small M2S (about 1/10 of the reference sizes) for smoke runs and tests.
SMALL_M2S = dict(
    module__embed_dim=16,
    module__proj_dim=8,
    module__n_layers=1,
    module__n_heads=2,
    module__head_dim=8,
    module__ff_dim=32,
    module__classifier_hidden=16,
    pretrainer__criterion__cpc_context_dim=8,
    pretrainer__criterion__cpc_layers=1,
    pretrainer__criterion__club_hidden=16,
    batch_size=8,
    pretrain_batch_size=8,
)
#: Settings of estimators that cannot predict from an unseen modality.
UNIMODAL_SETTINGS = ("multimodal", "eeg2eeg", "eye2eye")
#: The registry's names of the classic baselines -> the names of the paper's tables.
_PAPER_NAMES = {"de_svm": "DE+SVM", "de_logreg": "DE+LR"}
#: Pipelines of :func:`paper_pipelines` that predict from a modality they were not
#: trained on, besides the registry's ``CROSS_MODAL_BASELINES``.
_CROSS_MODAL = ("M2S", "M2S-prototype")


def _accepts(callable_, name):
    try:
        params = inspect.signature(callable_).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _call(factory, **kwargs):
    return factory(**{k: v for k, v in kwargs.items() if _accepts(factory, k)})


#: Baselines that need electrode positions (``chs_info``).
_NEEDS_CHS_INFO = frozenset({"dgcnn"})
#: Baselines that need raw EEG windows (the paradigm gives feature windows).
_RAW_EEG_BASELINES = frozenset({"eegnet"})


def for_modality(settings, other):
    """The settings with ``eye`` replaced by another second modality.

    DEAP's second modality is ``peripheral`` and DREAMER's ``ecg``: there the
    paper's ``eye2eye`` becomes ``peripheral2peripheral`` and so on.

    Parameters
    ----------
    settings : sequence of str
        Setting names written with ``eye``.
    other : str
        The data's second modality key.

    Returns
    -------
    tuple of str
    """
    if other == "eye":
        return tuple(settings)
    return tuple(
        s
        if s == "multimodal"
        else "2".join(other if part == "eye" else part for part in s.split("2"))
        for s in settings
    )


def _baseline_settings(module, name):
    """Settings of a registry baseline, from the registry's flags."""
    if name in getattr(module, "EEG_ONLY_BASELINES", ()):
        return ("eeg2eeg",)
    if name in getattr(module, "ONE_MODALITY_BASELINES", ()):
        return ("eeg2eeg", "eye2eye")
    if name in getattr(module, "CROSS_MODAL_BASELINES", ()):
        return PAPER_SETTINGS
    return UNIMODAL_SETTINGS


def package_baselines(
    max_epochs=None,
    random_state=None,
    n_chans=None,
    n_outputs=None,
    chs_info=None,
    eeg_ndim=4,
    baseline_kwargs=None,
):
    """The baselines of :mod:`braindecode_m2s.baselines`, built for the data.

    Reads the module's ``BASELINES`` registry (name -> ``factory(n_chans,
    n_outputs, modalities, random_state, max_epochs, **kwargs)``) and its
    flags ``CROSS_MODAL_BASELINES`` (evaluated in every paper setting),
    ``ONE_MODALITY_BASELINES`` (``eeg2eeg``, ``eye2eye``) and
    ``EEG_ONLY_BASELINES`` (``eeg2eeg``); the others are evaluated in
    ``multimodal``, ``eeg2eeg`` and ``eye2eye``. A baseline that reads raw
    EEG windows (EEGNet) is left out, with a warning, when the data are
    feature windows, and DGCNN when the data have no electrode positions
    (``chs_info``); any other failure to build a baseline is an error (a bug
    must not silently drop a baseline from the comparison).

    Parameters
    ----------
    max_epochs, random_state : int | None
        Passed to every factory.
    n_chans, n_outputs : int | None
        Signal parameters of the data.
    chs_info : list of dict | None
        Channel info (DGCNN's adjacency).
    eeg_ndim : int
        Dimensions of ``X["x"]`` (4: feature windows; 3: raw windows).
    baseline_kwargs : dict of str -> dict | None
        More keyword arguments for some factories, by baseline name.

    Returns
    -------
    pipelines : dict of str -> estimator
    settings : dict of str -> tuple of str
    """
    from .. import baselines as module

    registry = module.BASELINES
    pipelines, settings = {}, {}
    for name, factory in registry.items():
        if name in _RAW_EEG_BASELINES and eeg_ndim != 3:
            warnings.warn(
                f"Baseline {name!r} skipped: it reads raw EEG windows and the data "
                f"are feature windows.",
                UserWarning,
                stacklevel=2,
            )
            continue
        if name in _NEEDS_CHS_INFO and chs_info is None:
            warnings.warn(
                f"Baseline {name!r} skipped: it builds its graph from electrode "
                f"positions and the data have no chs_info.",
                UserWarning,
                stacklevel=2,
            )
            continue
        kwargs = dict(
            n_chans=n_chans, n_outputs=n_outputs, random_state=random_state, max_epochs=max_epochs
        )
        if chs_info is not None and "chs_info" in inspect.signature(factory).parameters:
            kwargs["chs_info"] = chs_info
        kwargs.update((baseline_kwargs or {}).get(name, {}))
        pipelines[name] = _call(factory, **kwargs)
        settings[name] = _baseline_settings(module, name)
    return pipelines, settings


def make_m2s(max_epochs=20, pretrain_epochs=None, batch_size=32, random_state=None, **kwargs):
    """An :class:`~braindecode_m2s.training.M2SClassifier` on the ``M2S`` class.

    Parameters
    ----------
    max_epochs : int
        Epochs of the classifier stage.
    pretrain_epochs : int | None
        Epochs of the self-supervised stage (``None``: ``max_epochs``).
    batch_size : int
        Mini-batch size of both stages (32: a SEED-IV session gives few
        10-window training samples per subject).
    random_state : int | None
        Seed.
    **kwargs
        More :class:`~braindecode_m2s.training.M2SClassifier` parameters.

    Returns
    -------
    M2SClassifier
    """
    from ..models import M2S
    from ..training import M2SClassifier

    params = dict(
        max_epochs=max_epochs,
        batch_size=batch_size,
        random_state=random_state,
        train_split=None,
        verbose=0,
        pretrain_batch_size=batch_size,
        pretrain_epochs=max_epochs if pretrain_epochs is None else pretrain_epochs,
    )
    params.update(kwargs)
    return M2SClassifier(M2S, **params)


def make_m2s_prototype(
    max_epochs=20, pretrain_epochs=None, batch_size=32, random_state=None, n_draws=20, **kwargs
):
    """The reference's second test mode as a pipeline: stage 1, then nearest references.

    An :class:`~braindecode_m2s.prototypes.M2SPrototypeClassifier` on the
    unfitted stage-1 estimator of :func:`make_m2s`'s classifier
    (:meth:`M2SClassifier.make_pretrainer
    <braindecode_m2s.M2SClassifier.make_pretrainer>`, the one stage 1 of the
    package), so every ``fit`` pretrains on its training data (no labels)
    exactly as the classifier would, then draws the references.

    Parameters
    ----------
    max_epochs, pretrain_epochs, batch_size, random_state, **kwargs
        As :func:`make_m2s`; only stage 1's apply.
    n_draws : int
        Draws of the references (the reference's 20).

    Returns
    -------
    M2SPrototypeClassifier
    """
    from ..prototypes import M2SPrototypeClassifier

    classifier = make_m2s(max_epochs, pretrain_epochs, batch_size, random_state, **kwargs)
    return M2SPrototypeClassifier(
        classifier.make_pretrainer(), n_draws=n_draws, random_state=random_state
    )


def paper_pipelines(
    max_epochs=20,
    random_state=None,
    include=None,
    m2s_kwargs=None,
    n_chans=None,
    n_outputs=None,
    chs_info=None,
    eeg_ndim=4,
    baseline_kwargs=None,
    second_modality="eye",
):
    """M2S and every available baseline, with the settings each is evaluated in.

    Parameters
    ----------
    max_epochs : int
        Training epochs of the neural models.
    random_state : int | None
        Seed (the runner overrides it per seed).
    include : sequence of str | None
        Pipeline names to keep (``None``: all available).
    m2s_kwargs : dict | None
        More :class:`~braindecode_m2s.training.M2SClassifier` parameters.
    n_chans, n_outputs, chs_info, eeg_ndim
        Facts of the data for the baselines (see :func:`package_baselines`).
    baseline_kwargs : dict of str -> dict | None
        More factory arguments by baseline name (see :func:`package_baselines`).
    second_modality : str
        The modality paired with EEG (``"eye"``; DEAP ``"peripheral"``,
        DREAMER ``"ecg"``); the settings are named with it
        (:func:`for_modality`).

    Returns
    -------
    pipelines : dict of str -> estimator
        ``"M2S"``, ``"M2S-prototype"`` (:func:`make_m2s_prototype`, same
        stage 1), then the package's baselines, its ``de_svm`` /
        ``de_logreg`` named ``"DE+SVM"`` / ``"DE+LR"`` (the registry's
        definitions, with their default ``C=1.0``).
    settings : dict of str -> tuple of str
        M2S and M2S-prototype: the four modes; baselines: see
        :func:`package_baselines` (``de_logreg``, the linear reference, runs
        on each single modality: ``eeg2eeg`` and ``eye2eye``, and on both).
    """
    pipelines, settings = {}, {}
    pipelines["M2S"] = make_m2s(
        max_epochs=max_epochs, random_state=random_state, **(m2s_kwargs or {})
    )
    settings["M2S"] = M2S_SETTINGS
    pipelines["M2S-prototype"] = make_m2s_prototype(
        max_epochs=max_epochs, random_state=random_state, **(m2s_kwargs or {})
    )
    settings["M2S-prototype"] = M2S_SETTINGS
    found, found_settings = package_baselines(
        max_epochs,
        random_state,
        n_chans=n_chans,
        n_outputs=n_outputs,
        chs_info=chs_info,
        eeg_ndim=eeg_ndim,
        baseline_kwargs=baseline_kwargs,
    )
    pipelines.update((_PAPER_NAMES.get(n, n), est) for n, est in found.items())
    settings.update((_PAPER_NAMES.get(n, n), v) for n, v in found_settings.items())
    if include is not None:
        include = check_pipeline_names(include)
        unknown = [n for n in include if n not in pipelines]
        if unknown:
            raise UnknownPipelineError(
                f"pipeline {unknown[0]!r} cannot run on these data; expected some of "
                f"{', '.join(pipelines)}"
            )
        pipelines = {n: pipelines[n] for n in include}
        settings = {n: settings[n] for n in include}
    settings = {n: for_modality(v, second_modality) for n, v in settings.items()}
    return pipelines, settings


def pipeline_names():
    """Every pipeline :func:`paper_pipelines` may give, as the paper's tables name them.

    Returns
    -------
    list of str
        ``"M2S"``, ``"M2S-prototype"``, ``"DE+SVM"``, ``"DE+LR"``, then the
        other baselines of :mod:`braindecode_m2s.baselines`' registry.
    """
    from ..baselines import BASELINES

    names = [*_CROSS_MODAL, *_PAPER_NAMES.values()]
    return names + [n for n in BASELINES if n not in _PAPER_NAMES]


def check_pipeline_names(names, among=None):
    """Pipeline names in the spelling of :func:`pipeline_names`, checked without any data.

    Parameters
    ----------
    names : sequence of str
        Names in any case; the registry's ``de_svm`` / ``de_logreg`` are
        ``DE+SVM`` / ``DE+LR``.
    among : sequence of str | None
        The names allowed (``None``: every one of :func:`pipeline_names`).

    Returns
    -------
    list of str

    Raises
    ------
    UnknownPipelineError
        Naming the first unknown name and every known one.
    """
    known = pipeline_names() if among is None else list(among)
    spelling = {n.lower(): n for n in known}
    spelling.update((k.lower(), v) for k, v in _PAPER_NAMES.items() if v in known)
    checked = []
    for name in names:
        if str(name).lower() not in spelling:
            raise UnknownPipelineError(
                f"unknown pipeline {name!r}; expected some of {', '.join(known)}"
            )
        checked.append(spelling[str(name).lower()])
    return checked


def check_pipeline_settings(names, settings):
    """Check that each pipeline can be evaluated in each setting, without any data.

    Parameters
    ----------
    names : sequence of str
        Pipeline names (:func:`check_pipeline_names`).
    settings : sequence of ModalitySetting
        From :func:`~braindecode_m2s.evaluation.settings.check_settings`.

    Raises
    ------
    ValueError
        If a pipeline that cannot predict from a modality it was not trained
        on is given a cross-modal setting, an EEG-only one a setting with
        another modality, or a one-modality one the multimodal setting.
    """
    from .. import baselines

    cross = [*_CROSS_MODAL, *sorted(baselines.CROSS_MODAL_BASELINES)]
    registry = {_PAPER_NAMES.get(n, n): n for n in baselines.BASELINES}
    for name in names:
        own = registry.get(name, name)
        for setting in settings:
            mods = {*(setting.train_modalities or ["all"]), *(setting.test_modalities or ["all"])}
            if setting.kind == "cross" and name not in cross:
                reason = (
                    "predicts from the modality it was trained on only (cross-modal "
                    f"pipelines: {', '.join(cross)})"
                )
            elif own in baselines.EEG_ONLY_BASELINES and mods != {"x"}:
                reason = "reads EEG only (setting eeg2eeg)"
            elif own in baselines.ONE_MODALITY_BASELINES and "all" in mods:
                reason = "is trained on one modality at a time (eeg2eeg, eye2eye...)"
            else:
                continue
            raise ValueError(f"pipeline {name!r} cannot run setting {setting.name!r}: it {reason}")


def m2s_kwargs(quick=False, device=None, mixed_precision="no"):
    """M2S parameters of the command line: :data:`SMALL_M2S` for a quick run, the
    reference sizes otherwise, on ``device`` with ``mixed_precision``."""
    return dict(SMALL_M2S if quick else {}, device=device, mixed_precision=mixed_precision)


def _set_everywhere(pipelines, name, value):
    """``name`` on every estimator (and nested net) that has that parameter."""
    for est in pipelines.values():
        keys = [k for k in est.get_params(deep=True) if k == name or k.endswith(f"__{name}")]
        if keys:
            est.set_params(**{k: value for k in keys})


def pipelines_for(
    data, include=None, max_epochs=20, quick=False, device=None, mixed_precision="no"
):
    """The pipelines of the paper's comparison, built for some data.

    What ``m2s evaluate`` and ``m2s reproduce`` run: :func:`paper_pipelines`
    with the data's sizes, channels and second modality, the small M2S of
    :data:`SMALL_M2S` for a quick run, and every neural model on ``device``
    with ``mixed_precision``.

    Parameters
    ----------
    data : EvaluationData
        From :func:`~braindecode_m2s.evaluation.data.load_data`.
    include : sequence of str | None
        Pipeline names (:func:`check_pipeline_names`; ``None``: all).
    max_epochs : int
        Training epochs of the neural models.
    quick : bool
        The small M2S (and CLIP-only ablation) of :data:`SMALL_M2S`.
    device : str | None
        Torch device of the neural models (``None``: each one's default).
    mixed_precision : {"no", "bf16"}
        Of every model that has the parameter.

    Returns
    -------
    pipelines : dict of str -> estimator
    settings : dict of str -> tuple of str
    notes : list of str
        The baselines left out, and why (data they cannot read).
    """
    import numpy as np

    X, info = data.X, data.info
    keys = list(X.keys())
    m2s = m2s_kwargs(quick, device, mixed_precision)
    n_chans = X["x"].shape[1] if "x" in keys else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipelines, settings = paper_pipelines(
            max_epochs=max_epochs,
            include=include,
            m2s_kwargs=m2s,
            n_chans=n_chans,
            n_outputs=len(np.unique(data.y)),
            chs_info=info["chs"] if n_chans == len(info["ch_names"]) else None,
            eeg_ndim=X["x"].ndim if "x" in keys else 4,
            # "CLIP only" is the M2S ablation: same model sizes and batches as M2S
            baseline_kwargs={"clip_only": {"batch_size": 32, "pretrain_batch_size": 32, **m2s}},
            second_modality=next((k for k in keys if k != "x"), "eye"),
        )
    notes = [str(w.message).splitlines()[0] for w in caught if "skipped" in str(w.message)]
    if device is not None:
        _set_everywhere(pipelines, "device", device)
    _set_everywhere(pipelines, "mixed_precision", mixed_precision)
    return pipelines, settings, notes
