"""One M2S mode trained on one fold of a protocol, saved without pickle.

What ``m2s train`` does, usable from Python: :func:`train_fold` fits M2S
(stage 1 on every modality, stage 2 in one modality setting) on the
training trials of one fold of the dataset's protocol and scores it on the
fold's test trials; :func:`save_trained` writes the trained estimator into
a folder; :func:`load_trained` gives it back, ready to predict.

The folder, in the library's safe formats (no file runs code when read)::

    config.json, model.safetensors   the trained M2S (braindecode's hub format:
                                     M2S.save_pretrained / M2S.from_pretrained)
    estimator.json                   what the classifier needs beyond the model:
                                     train_modalities, test_modalities, classes
                                     (the labels), and how it was trained and scored
    history.json                     stage 2's epochs (every loss term)
    pretrain_history.json            stage 1's epochs
    loss_curves.png                  both, drawn

:func:`load_trained` is, by hand::

    import json
    from braindecode_m2s import M2S, M2SClassifier

    params = json.load(open("m2s_model/estimator.json"))["params"]
    clf = M2SClassifier(M2S.from_pretrained("m2s_model"), pretrain_epochs=0, **params)
    clf.initialize()  # frozen encoders and head as trained; clf.predict(X)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TrainedFold", "fold_indices", "train_fold", "save_trained", "load_trained"]

#: The description of the estimator in a saved folder.
ESTIMATOR_FILE = "estimator.json"


def fold_indices(metadata, dataset, fold=0, protocol="within-session"):
    """Training and test sample positions of one fold of a protocol.

    The folds are those of :meth:`ProtocolSplitter.folds
    <braindecode_m2s.evaluation.ProtocolSplitter.folds>`, in their order; the
    two sides never share a trial (the splitter refuses a leaky split).

    Parameters
    ----------
    metadata : pandas.DataFrame
        ``subject``, ``session``, ``trial``.
    dataset : str
        The dataset's code (its within-session split).
    fold : int
        Index of the fold.
    protocol : str
        ``"within-session"``, ``"cross-session"`` or ``"loso"``.

    Returns
    -------
    fold : dict
        ``subject``, ``session``, ``fold``, ``train``, ``test``.
    train, test : numpy.ndarray
        Sample positions.

    Raises
    ------
    ValueError
        If ``fold`` is not a fold of these data.
    """
    from .protocols import ProtocolSplitter

    folds = ProtocolSplitter(metadata, protocol, dataset=dataset).folds()
    if not 0 <= fold < len(folds):
        raise ValueError(
            f"fold {fold} does not exist; the {dataset} {protocol} protocol has folds 0 to "
            f"{len(folds) - 1} on these data"
        )
    return folds[fold], folds[fold]["train"], folds[fold]["test"]


@dataclass
class TrainedFold:
    """An M2S classifier trained on one fold, and its scores on the fold's test trials.

    Attributes
    ----------
    estimator : M2SClassifier
        The fitted classifier.
    mode : str
        Its modality setting.
    dataset : str
        Dataset code.
    fold : dict
        ``subject``, ``session``, ``fold`` (and the positions).
    n_train, n_test : int
        Samples of each side.
    balanced_accuracy, kappa : float
        Test scores (fractions).
    seconds : float
        Training time.
    """

    estimator: object
    mode: str
    dataset: str
    fold: dict
    n_train: int
    n_test: int
    balanced_accuracy: float
    kappa: float
    seconds: float

    def __str__(self):
        fold = self.fold
        return (
            f"M2S {self.mode} on {self.dataset}, subject {fold['subject']} session "
            f"{fold['session']} fold {fold['fold']}: test balanced accuracy "
            f"{100 * self.balanced_accuracy:.1f} %, kappa (x100) {100 * self.kappa:.1f} "
            f"({self.n_train} training / {self.n_test} test samples, disjoint trials; "
            f"{self.seconds:.0f} s)"
        )


def train_fold(
    data,
    mode="eeg2eeg",
    fold=0,
    protocol="within-session",
    max_epochs=20,
    quick=False,
    seed=0,
    device=None,
    mixed_precision="no",
):
    """Train M2S in one modality setting on one fold and score it on its test trials.

    Parameters
    ----------
    data : EvaluationData
        From :func:`~braindecode_m2s.evaluation.data.load_data`.
    mode : str
        Modality setting (``"eeg2eeg"``, ``"eeg2eye"``...).
    fold : int
        Fold of the protocol (:func:`fold_indices`).
    protocol : str
        Evaluation protocol.
    max_epochs : int
        Epochs of both stages.
    quick : bool
        The small M2S of :data:`~braindecode_m2s.evaluation.pipelines.SMALL_M2S`.
    seed : int
        The estimator's ``random_state``.
    device : str | None
        Torch device.
    mixed_precision : {"no", "bf16"}

    Returns
    -------
    TrainedFold
    """
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, cohen_kappa_score
    from skorch.helper import SliceDict

    from .pipelines import m2s_kwargs, make_m2s
    from .settings import apply_setting

    X, y, keys = data.X, np.asarray(data.y), list(data.X.keys())
    the_fold, train, test = fold_indices(data.metadata, data.code, fold, protocol)
    m2s = make_m2s(
        max_epochs=max_epochs, random_state=seed, **m2s_kwargs(quick, device, mixed_precision)
    )
    net = apply_setting(m2s, mode, keys=keys)
    start = time.perf_counter()
    net.fit(SliceDict(**{k: X[k][train] for k in keys}), y[train])
    seconds = time.perf_counter() - start
    y_pred = np.asarray(net.predict(SliceDict(**{k: X[k][test] for k in keys})))
    return TrainedFold(
        net,
        mode,
        data.code,
        the_fold,
        len(train),
        len(test),
        float(balanced_accuracy_score(y[test], y_pred)),
        float(cohen_kappa_score(y[test], y_pred)),
        seconds,
    )


def _plain(value):
    """A label or modality as JSON writes it (numpy scalars as Python ones)."""
    return value.item() if hasattr(value, "item") else value


def save_trained(trained, folder):
    """Write a trained fold's classifier into ``folder`` (see the module's docstring).

    Parameters
    ----------
    trained : TrainedFold
        From :func:`train_fold`.
    folder : str | Path
        Created if missing; the files of an earlier save are replaced.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from ..viz import plot_loss_curves
    from .tasks import epoch_history

    net, folder = trained.estimator, Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    net.module_.save_pretrained(folder)
    # braindecode writes the weights twice; keep the tensors-only file
    (folder / "pytorch_model.bin").unlink(missing_ok=True)
    stage1 = epoch_history(getattr(net, "pretrain_history_", None))
    stage2 = epoch_history(net.history)
    description = {
        "class": "braindecode_m2s.M2SClassifier",
        "params": {
            "train_modalities": net.train_modalities,
            "test_modalities": net.test_modalities,
            "classes": [_plain(c) for c in net.classes_],
        },
        "mode": trained.mode,
        "dataset": trained.dataset,
        "fold": {k: _plain(trained.fold[k]) for k in ("subject", "session", "fold")},
        "samples": {"train": trained.n_train, "test": trained.n_test},
        "test_scores_pct": {
            "balanced_accuracy": 100 * trained.balanced_accuracy,
            "kappa_x100": 100 * trained.kappa,
        },
        "reload": "braindecode_m2s.evaluation.trained.load_trained(folder)",
    }
    files = {
        ESTIMATOR_FILE: description,
        "history.json": stage2,
        "pretrain_history.json": stage1,
    }
    for name, content in files.items():
        (folder / name).write_text(json.dumps(content, indent=1) + "\n", encoding="utf-8")
    plot_loss_curves(stage2, folder / "loss_curves.png", pretrain_history=stage1 or None)
    return sorted(p for p in folder.iterdir() if p.is_file())


def load_trained(folder):
    """The classifier :func:`save_trained` wrote, ready to predict.

    Parameters
    ----------
    folder : str | Path

    Returns
    -------
    M2SClassifier
        Initialized on the saved model (``pretrain_epochs=0``, frozen
        encoders), with the saved modalities and labels.
    """
    from ..models import M2S
    from ..training import M2SClassifier
    from ..utils.files import read_regular_file

    folder = Path(folder)
    description = json.loads(read_regular_file(folder / ESTIMATOR_FILE, 1 << 20, "Estimator"))
    params = description["params"]
    return M2SClassifier(M2S.from_pretrained(folder), pretrain_epochs=0, **params).initialize()
