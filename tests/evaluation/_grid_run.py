"""A small evaluation grid with a task store; the kill tests run it in a child process.

``python -c "import _grid_run; _grid_run.main(STORE, BACKEND, OUT, ADDRESS)"``
evaluates logistic regressions that each take ``DELAY`` seconds (so a run can
be killed half way) and writes the results table to ``OUT``. Imported as a
module (not run as ``__main__``), its classes have the same qualified name,
hence the same task keys, in the child and in the test process.
"""

import os
import time

import cloudpickle
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression

from braindecode_m2s import make_synthetic_emotion
from braindecode_m2s.evaluation import ModalitySelect, evaluate

DELAY = 0.4
SETTINGS = ["eeg2eeg", "eye2eye", "multimodal"]
SEEDS = [0, 1]


class SlowLR(LogisticRegression):
    """Logistic regression whose fit also sleeps ``DELAY`` seconds."""

    def fit(self, X, y, sample_weight=None):
        time.sleep(DELAY)
        return super().fit(X, y, sample_weight)


class ThreadProbe(ClassifierMixin, BaseEstimator):
    """Predictions drawn from the threads its fit computed with, and a gemm's bits.

    ``fit`` multiplies two matrices with torch (a product whose sum is split
    between threads: its last bits change with the thread count) and reads
    torch's and the BLAS libraries' thread counts; ``predict`` draws labels
    from a generator seeded by all of them. Two fits with different thread
    counts give different predictions, hence different scores.
    """

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y):
        import numpy as np
        import torch
        from threadpoolctl import threadpool_info

        g = torch.Generator().manual_seed(int(self.random_state or 0))
        a, b = torch.randn(20000, 5, generator=g), torch.randn(20000, 16, generator=g)
        bits = int((a.T @ b).view(torch.int32).sum())
        blas = sorted(int(lib["num_threads"]) for lib in threadpool_info())
        self.threads_ = (torch.get_num_threads(), *blas)
        self.seed_ = abs(hash((bits, self.threads_))) % (1 << 32)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        import numpy as np

        n = len(X["x"]) if hasattr(X, "keys") else len(X)
        return np.random.default_rng(self.seed_).choice(self.classes_, size=n)


def data():
    return make_synthetic_emotion(
        n_subjects=2,
        n_sessions=1,
        n_chans=6,
        n_eye_features=4,
        n_windows=(10, 12),
        sequence_length=5,
        seed=0,
    )


def pipelines(estimator=SlowLR):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return {
        "LR": make_pipeline(
            ModalitySelect(None, average_windows=True), StandardScaler(), estimator(max_iter=200)
        )
    }


def backend_options(name, address=None):
    if name == "local":
        return dict(backend="local", n_jobs=1)
    if name == "dask":
        return dict(backend="dask", address=address)
    if name == "ray":  # Ray's workers import this module: give them this PYTHONPATH
        env = {"PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        return dict(
            backend="ray",
            address=address,
            init_kwargs=dict(runtime_env={"env_vars": env}, log_to_driver=False),
        )
    # submitit's debug executor: its path in the driver, which the kill ends
    return dict(backend="slurm", cluster="debug", poll_interval=0.05)


def run(store, backend, address=None, **kwargs):
    X, y, meta = data()
    return evaluate(
        pipelines(),
        X,
        y,
        meta,
        dataset="SEED-IV",
        settings=SETTINGS,
        seeds=SEEDS,
        store=store,
        **backend_options(backend, address),
        **kwargs,
    )


def main(store, backend, out, address=None):
    run(store, backend, address).to_csv(out, index=False)
    pd.read_csv(out)  # written whole


# workers receive this module's classes by value: they need not import it
cloudpickle.register_pickle_by_value(__import__(__name__))
