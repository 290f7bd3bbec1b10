"""The reference's second test mode of M2S: one random training sequence per class.

Liu et al. (AAAI 2025) test the pretrained M2S encoders in two ways. The
first trains a classifier on one modality's embedding
(:class:`~braindecode_m2s.M2SClassifier`). The second (their
``pretrain_seediv.py``) trains nothing after the self-supervised stage: each
class is represented by the embedding of **one** training sequence drawn at
random from that class, a test sample takes the class of the reference whose
embedding is most similar (cosine similarity of the L2-normalised
embeddings; the reference multiplies it by CLIP's learnt scale before an
arg-max, which does not change the winner), and the accuracy is averaged
over 20 draws of the references. References and test samples may come from
different modalities (their ``eeg2eye``: EEG references, eye test samples),
which is possible because stage 1 puts every modality in one space.

:class:`M2SPrototypeClassifier` is that mode as a scikit-learn classifier.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import accuracy_score
from sklearn.utils.validation import check_is_fitted
from skorch.helper import SliceDict

from .models.m2s import M2S
from .training import M2MCPCPretrainer
from .training.inputs import (
    as_module_inputs,
    check_multimodal,
    check_n_features,
    encode_labels,
    selected_keys,
)
from .utils.check import check_int

__all__ = ["M2SPrototypeClassifier"]


def _modality_dict(X, where):
    """``{modality: numpy array}`` from a checked SliceDict / dict, or EEG from an array
    (:func:`~braindecode_m2s.training.inputs.check_multimodal`)."""
    return {
        k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v))
        for k, v in as_module_inputs(X).items()
    }


def _is_fitted_pretrainer(obj):
    return isinstance(obj, M2MCPCPretrainer) and hasattr(obj, "modalities_")


def _embed(pretrainer, data, keys):
    """L2-normalised embeddings ``(n, proj_dim)`` of the modalities ``keys``.

    :meth:`M2MCPCPretrainer.transform` (the package's one embedding loop):
    with several modalities their embeddings are averaged first, as
    :meth:`M2SClassifier.transform <braindecode_m2s.M2SClassifier.transform>`
    does, then normalised.
    """
    embedded = pretrainer.transform(SliceDict(**{k: data[k] for k in keys}))
    norms = np.linalg.norm(embedded, axis=1, keepdims=True)
    return (embedded / np.maximum(norms, 1e-12)).astype(np.float64)


class M2SPrototypeClassifier(ClassifierMixin, BaseEstimator):
    """Nearest-reference classification on pretrained M2S embeddings, no classifier.

    The reference's second test mode (Liu et al., AAAI 2025, their
    ``pretrain_seediv.py``): after stage 1 (self-supervised pretraining,
    :class:`~braindecode_m2s.M2MCPCPretrainer`), nothing is trained.
    ``fit`` draws, ``n_draws`` times, one training sample (one sequence of
    windows) of every class and keeps its embedding, read from the
    ``train_modalities``, as that class's reference; a test sample's
    embedding, read from the ``test_modalities``, is compared with the
    references of a draw by cosine similarity (both L2-normalised, as the
    reference does) and takes the class of the most similar one.

    How the draws become a prediction (the reference reports the accuracy
    averaged over draws; a classifier needs one answer per sample):

    - :meth:`predict_proba`: the share of the ``n_draws`` draws in which each
      class wins (the mean of the per-draw one-hot votes);
    - :meth:`predict`: the class that wins most draws (majority vote); ties
      go to the class with the highest mean similarity;
    - :meth:`decision_function`: the score :meth:`predict` takes the
      highest of: the share of draws won, ties broken by the cosine
      similarity to each class's reference averaged over draws
      (:meth:`similarities` gives the similarities);
    - :meth:`score`: scikit-learn's accuracy of :meth:`predict`;
      :meth:`draw_scores` gives the accuracy of every single draw, whose mean
      is the figure the reference reports.

    The modes of the paper: ``train_modalities=["x"], test_modalities=["x"]``
    (eeg2eeg), ``["eye"], ["eye"]`` (eye2eye), ``["x"], ["eye"]`` (eeg2eye:
    EEG references, eye test samples), ``["eye"], ["x"]`` (eye2eeg). The
    names ``train_modalities`` / ``test_modalities`` are those of every
    estimator of the package, so :func:`~braindecode_m2s.evaluate` applies
    its modality settings to this one too.

    Parameters
    ----------
    pretrained : M2MCPCPretrainer | M2S | type | None
        The encoders. A *fitted* :class:`~braindecode_m2s.M2MCPCPretrainer`
        or an :class:`~braindecode_m2s.M2S` instance (a pretrained model, from
        ``to_classifier``, a pretrainer's ``module_`` or ``from_pretrained``)
        is used as it is (``fit`` only draws references). An *unfitted*
        pretrainer is cloned and fitted on every modality of ``fit``'s ``X``
        first (stage 1, no labels; its ``random_state`` is this one's when it
        has none), which is what a cross-validation or
        :func:`~braindecode_m2s.evaluate` needs. The ``M2S`` class or ``None``
        (the ``M2S`` class) is wrapped in ``M2MCPCPretrainer(module,
        random_state=random_state)`` with that class's defaults; pass a
        configured pretrainer to choose its epochs, optimiser and weights.
        ``clone`` keeps a fitted pretrainer (it is only read; its parameters
        are not listed by :meth:`get_params`) and copies an M2S, so cloned
        classifiers do not pretrain again.
    n_draws : int
        Number of random draws of the references (the reference's 20).
    train_modalities : list of str | None
        Modalities the references' embeddings are read from (mean of their
        embeddings when several); ``None``: every modality of ``X``.
    test_modalities : list of str | None
        Modalities the test samples' embeddings are read from; ``None``:
        every modality of the ``X`` given to ``predict``.
    random_state : int | None
        Seed of the draws (``numpy.random.default_rng``; the global RNG is
        not used), and of the pretraining when ``fit`` runs it and the
        pretrainer has no seed of its own.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels seen by ``fit`` (any type), sorted.
    module_ : M2S
        A copy of the pretrained model whose embeddings are compared.
    pretrainer_ : M2MCPCPretrainer
        The fitted stage-1 estimator around ``module_`` that embeds the
        samples (:meth:`M2MCPCPretrainer.transform`); its ``history`` is
        stage 1's when it ran in ``fit``, empty when given pretrained.
    trained_modalities_ : set of str
        Modalities whose encoders stage 1 trained (all of a given model's).
    reference_indices_ : numpy.ndarray
        ``(n_draws, n_classes)``: the training sample drawn for each class in
        each draw (positions in ``fit``'s ``X``).
    references_ : numpy.ndarray
        ``(n_draws, n_classes, proj_dim)``: their normalised embeddings.

    Examples
    --------
    >>> pretrainer = M2MCPCPretrainer(M2S(n_chans=62, n_outputs=4),
    ...                               max_epochs=50).fit(X_train)   # doctest: +SKIP
    >>> clf = M2SPrototypeClassifier(pretrainer, train_modalities=["x"],
    ...                              test_modalities=["eye"], random_state=0)
    >>> clf.fit(X_train, y_train).score(X_test, y_test)              # doctest: +SKIP
    """

    def __init__(
        self,
        pretrained=None,
        n_draws=20,
        train_modalities=None,
        test_modalities=None,
        random_state=None,
    ):
        self.pretrained = pretrained
        self.n_draws = n_draws
        self.train_modalities = train_modalities
        self.test_modalities = test_modalities
        self.random_state = random_state

    def __sklearn_tags__(self):
        """scikit-learn's tags: a classifier of the inputs of its pretrainer.

        A plain array is EEG (2-D: one window of features per sample; 3-D raw
        windows with ``sfreq``; 4-D features), a dict (``SliceDict``) holds
        modalities; dense, finite real numbers only. Deterministic given
        ``random_state`` (the draws, and stage 1 when ``fit`` runs it) on the
        CPU. ``poor_score``: one training sample per class is its reference,
        and M2S normalises each window's feature vector (see
        :class:`~braindecode_m2s.M2SClassifier`), so scikit-learn's test
        problem (``make_blobs``, 2 features, accuracy > 0.83) is out of its
        reach (0.58).
        """
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.input_tags.dict = True
        tags.classifier_tags.poor_score = True
        return tags

    def get_params(self, deep=True):
        """Parameters, as scikit-learn's; a fitted pretrainer's are not exposed.

        A fitted ``pretrained`` is held frozen (``fit`` only reads it), so
        ``deep=True`` lists no ``pretrained__*`` for it: a search or a seed
        setter (:func:`~braindecode_m2s.evaluate`) cannot change the
        user's fitted object. An unfitted pretrainer's are listed.
        """
        return super().get_params(deep=deep and not _is_fitted_pretrainer(self.pretrained))

    def __sklearn_clone__(self):
        # A fitted pretrainer is only read by ``fit``: keep it, so that a clone
        # (cross-validation, evaluate) does not silently pretrain from scratch.
        if _is_fitted_pretrainer(self.pretrained):
            params = self.get_params(deep=False)
            params = {
                k: (v if k == "pretrained" else clone(v, safe=False)) for k, v in params.items()
            }
            return type(self)(**params)
        return super().__sklearn_clone__()

    # -- fit ---------------------------------------------------------------------
    def _check_params(self):
        check_int("n_draws", self.n_draws, low=1)
        pretrained = self.pretrained
        ok = (
            pretrained is None
            or isinstance(pretrained, (M2MCPCPretrainer, M2S))
            or (isinstance(pretrained, type) and issubclass(pretrained, M2S))
        )
        if not ok:
            raise ValueError(
                f"`pretrained` is a {type(pretrained).__name__}; expected an "
                f"M2MCPCPretrainer (fitted or not), an M2S model (pretrained or not), the "
                f"M2S class or None."
            )

    def _fitted_pretrainer(self, X):
        """A fitted stage-1 estimator on a copy of the pretrained M2S (stage 1 run
        here when needed), and the modalities whose encoders were trained."""
        pretrained = self.pretrained
        if _is_fitted_pretrainer(pretrained):
            given = M2MCPCPretrainer(
                pretrained.model,
                device=pretrained.device,
                mixed_precision=pretrained.mixed_precision,
                verbose=0,
            ).initialize()
            return given, set(pretrained.modalities_)
        if isinstance(pretrained, M2S):
            # an instance is taken as given (pretrained), copied on its device
            device = next(pretrained.parameters()).device
            given = M2MCPCPretrainer(pretrained, device=device, verbose=0).initialize()
            return given, set(pretrained.modality_names)
        if isinstance(pretrained, M2MCPCPretrainer):
            pretrainer = clone(pretrained)
            if pretrainer.random_state is None:
                pretrainer.set_params(random_state=self.random_state)
        else:
            pretrainer = M2MCPCPretrainer(
                M2S if pretrained is None else pretrained,
                random_state=self.random_state,
                verbose=0,
            )
        pretrainer.fit(X)
        return pretrainer, set(pretrainer.modalities_)

    def fit(self, X, y):
        """Pretrain if needed, then draw the references of every class.

        Parameters
        ----------
        X : SliceDict | dict | array
            The training samples, in M2S's layout (``x``: ``(n, n_chans,
            n_windows, n_bands)``; other modalities ``(n, n_features,
            n_windows)``). When stage 1 runs here, every modality of ``X``
            is used (at least two).
        y : array-like
            One label per sample, any values (at least two classes).

        Returns
        -------
        self
        """
        self._check_params()
        where = "M2SPrototypeClassifier.fit"
        X = check_multimodal(X, where, y)
        check_n_features(self, X, True, where)
        data = _modality_dict(X, where)
        keys = selected_keys(data, self.train_modalities, "train_modalities")
        encoder, y_enc = encode_labels(y, "M2SPrototypeClassifier.fit")
        pretrainer, trained = self._fitted_pretrainer(X)
        module = pretrainer.module_
        selected_keys(None, keys, "train_modalities", module.modality_names, "this M2S")
        self._warn_untrained(trained, keys)
        rng = np.random.default_rng(self.random_state)
        members = [np.flatnonzero(y_enc == c) for c in range(len(encoder.classes_))]
        indices = np.array([[rng.choice(m) for m in members] for _ in range(self.n_draws)])
        unique, inverse = np.unique(indices, return_inverse=True)
        embedded = _embed(pretrainer, {k: data[k][unique] for k in keys}, keys)
        self.label_encoder_ = encoder
        self.module_ = module
        self.pretrainer_ = pretrainer
        self.trained_modalities_ = trained
        self.reference_indices_ = indices
        self.references_ = embedded[inverse.reshape(indices.shape)]
        return self

    @property
    def classes_(self):
        """The labels seen by ``fit``, sorted."""
        check_is_fitted(self, "label_encoder_")
        return self.label_encoder_.classes_

    @staticmethod
    def _warn_untrained(trained, keys):
        untrained = [k for k in keys if k not in trained]
        if untrained:
            warnings.warn(
                f"M2SPrototypeClassifier reads modality {untrained[0]!r}, whose encoder was "
                f"never trained (trained: {sorted(trained)}); its embedding is random.",
                UserWarning,
                stacklevel=3,
            )

    # -- prediction ----------------------------------------------------------------
    def similarities(self, X):
        """Cosine similarity of every test sample to every draw's references.

        Parameters
        ----------
        X : SliceDict | dict | array
            Samples holding the ``test_modalities``.

        Returns
        -------
        numpy.ndarray
            ``(n_draws, n, n_classes)``, columns in the order of ``classes_``.
        """
        check_is_fitted(self, "references_")
        where = "M2SPrototypeClassifier.predict"
        X = check_multimodal(X, where)
        check_n_features(self, X, False, where)
        data = _modality_dict(X, where)
        keys = selected_keys(data, self.test_modalities, "test_modalities")
        selected_keys(None, keys, "test_modalities", self.module_.modality_names, "this M2S")
        self._warn_untrained(self.trained_modalities_, keys)
        embedded = _embed(self.pretrainer_, data, keys)
        return np.einsum("nd,rkd->rnk", embedded, self.references_)

    def _votes(self, sims):
        n_classes = sims.shape[2]
        winners = sims.argmax(axis=2)  # (n_draws, n)
        return np.eye(n_classes)[winners].mean(axis=0)

    def _scores(self, sims):
        """The share of draws each class wins, its mean similarity breaking ties.

        The mean similarity, in [-1, 1], is mapped to less than one draw's
        share (``(s + 1) / (3 n_draws)`` <= 2 / (3 n_draws)), so it only
        orders classes that win as many draws.
        """
        return self._votes(sims) + (sims.mean(axis=0) + 1.0) / (3.0 * sims.shape[0])

    def predict_proba(self, X):
        """Share of the draws in which each class's reference is the most similar.

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)``, rows summing to 1, columns in the order of
            ``classes_``.
        """
        return self._votes(self.similarities(X))

    def decision_function(self, X):
        """The score :meth:`predict` takes the highest of, per class.

        The share of the draws each class wins (:meth:`predict_proba`) plus,
        to break ties only, its cosine similarity averaged over draws, mapped
        to less than one draw's share: ``(mean + 1) / (3 n_draws)``
        (:meth:`similarities` gives the similarities themselves).

        Returns
        -------
        numpy.ndarray
            ``(n, n_classes)``, columns in the order of ``classes_``; with two
            classes, scikit-learn's ``(n,)``: the second class's score minus
            the first's (positive: ``classes_[1]``).
        """
        scores = self._scores(self.similarities(X))
        return scores[:, 1] - scores[:, 0] if scores.shape[1] == 2 else scores

    def predict(self, X):
        """The class winning most draws (ties: highest mean similarity).

        Returns
        -------
        numpy.ndarray
            Labels as given to ``fit``.
        """
        return self.classes_[self._scores(self.similarities(X)).argmax(axis=1)]

    def draw_scores(self, X, y, scorer=accuracy_score):
        """A score of every draw on its own (the reference's evaluation).

        The reference reports ``draw_scores(X, y).mean()``: the accuracy
        averaged over the draws of the references, each draw classifying
        every sample by its single most similar reference.

        Parameters
        ----------
        X : SliceDict | dict | array
            Test samples.
        y : array-like
            Their labels (values as given to ``fit``).
        scorer : callable
            ``scorer(y_true, y_pred)``; accuracy by default.

        Returns
        -------
        numpy.ndarray
            ``(n_draws,)`` scores.
        """
        sims = self.similarities(X)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != sims.shape[1]:
            raise ValueError(
                f"y must hold one label per sample of X ({sims.shape[1]}); got shape {y.shape}."
            )
        return np.array([scorer(y, self.classes_[draw.argmax(axis=1)]) for draw in sims])
