"""What a run does not report: upstream deprecations, solver notes, library logs."""

from __future__ import annotations

import sys
import warnings

__all__ = ["quiet_warnings"]


def quiet_warnings(convergence=True, console=False):
    """Silence what a run does not report; call it inside ``warnings.catch_warnings``.

    The one home of the package's quiet filters: an evaluation task's
    (:func:`~braindecode_m2s.evaluation.tasks.run_task`) and the command
    line's (``m2s``).

    Parameters
    ----------
    convergence : bool
        Also ignore scikit-learn's ``ConvergenceWarning`` (a solver's notes,
        which a task does not report).
    console : bool
        Print every other warning as one line on stderr, and set MOABB's and
        MNE's logs to errors only (the command line).
    """
    warnings.simplefilter("ignore", FutureWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    if convergence:
        from sklearn.exceptions import ConvergenceWarning

        warnings.simplefilter("ignore", ConvergenceWarning)
    if console:
        import logging

        warnings.showwarning = lambda message, *_, file=None, line=None: print(
            f"warning: {str(message).splitlines()[0]}", file=file or sys.stderr
        )
        logging.getLogger("moabb").setLevel(logging.ERROR)
        import mne  # once a command runs: --help imports nothing heavy

        mne.set_log_level("ERROR")
