"""Run an evaluation grid into an output folder: tables, statistics, figures, status.

What ``m2s evaluate`` and ``m2s reproduce`` do after parsing their options,
usable from Python: :func:`run_and_report` plans the grid
(:func:`~braindecode_m2s.evaluation.evaluations.plan`), runs the tasks that
are not done (:func:`~braindecode_m2s.evaluation.evaluations.run_plan`),
and writes into ``out``:

``results.partial.csv``
    the rows done so far, rewritten after each task while the run goes on;
``run_status.json``
    ``{"state": ..., "done": ..., "failed": ..., "pending": ..., "total": ...}``
    with ``state`` ``"running"``, ``"partial"`` (tasks failed; the others
    ran), ``"failed"`` (an error stopped the run: a full disk...; with
    ``"error"``), ``"interrupted"`` (Ctrl-C) or ``"complete"``;
``results.csv``, ``summary.csv``, ``summary.md``, ``statistics.csv``, figures
    once every task is done (:mod:`~braindecode_m2s.evaluation.figures`:
    drawn from the store, no extra fit); ``"complete"`` is written after
    the last of them.

Every table written or printed has one convention: accuracy and balanced
accuracy in %, Cohen's kappa times 100 (columns ``accuracy_pct``,
``balanced_accuracy_pct``, ``kappa_x100``; the statistics'
``mean_diff_pct_points``), as ``m2s demo`` prints them; the tables that
:func:`~braindecode_m2s.evaluation.evaluate` and :class:`RunReport` return
keep fractions. The screen gets a short summary (balanced accuracy per
pipeline and setting, within 100 columns); the files have the rest.

Every file is written atomically
(:func:`~braindecode_m2s.utils.files.atomic_path`): a killed run, a full
disk or Ctrl-C leaves the previous file or the new one, never part of one,
and no temporary file. The tables before a run ends are never mistaken for
final ones: the final files of an earlier run are removed when a run
starts.
"""

from __future__ import annotations

import json
import sys
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..utils.files import atomic_write_text, check_writable_dir
from .choices import PAPER_SETTINGS
from .figures import M2S_FIGURES
from .records import RESULT_COLUMNS
from .store import NotAStoreError

__all__ = [
    "run_and_report",
    "RunReport",
    "PartialTable",
    "status_lines",
    "write_run_status",
    "write_csv",
    "percent_results",
    "percent_tables",
    "FINAL_OUTPUTS",
]

_TABLES = ("results.csv", "summary.csv", "statistics.csv", "summary.md")
_FIGURES = ("accuracy_per_subject.png", "confusion_matrices.png", *M2S_FIGURES)
#: Files of a finished run; removed when a run starts (they are rebuilt from the store).
FINAL_OUTPUTS = _TABLES + _FIGURES
PARTIAL = "results.partial.csv"
#: Options of :func:`run_and_report` that describe the grid (the others say where it runs).
_GRID_OPTIONS = ("protocol", "dataset", "cv", "settings", "seeds")
STATUS = "run_status.json"
#: Widest line of the tables printed on screen.
WIDTH = 100
#: Score columns -> their names in the files (in % / times 100).
_PERCENT = {
    "score": "accuracy_pct",
    "balanced_accuracy": "balanced_accuracy_pct",
    "kappa": "kappa_x100",
}


def percent_results(results):
    """The results table as written to disk: accuracies in %, kappa times 100."""
    res = results.copy()
    for column in _PERCENT:
        res[column] *= 100
    return res.rename(columns=_PERCENT)


def percent_tables(results, summary, stats):
    """The results, summary and statistics as written to disk (summary: from
    :func:`~braindecode_m2s.evaluation.statistics.summarize`, already in %)."""
    res = percent_results(results)
    summ = summary.rename(
        columns={
            f"{score}_{part}": f"{name}_{part}"
            for score, name in _PERCENT.items()
            for part in ("mean", "std")
        }
    )
    st = stats.copy()
    if "mean_diff" in st:
        st["mean_diff"] *= 100
        st = st.rename(columns={"mean_diff": "mean_diff_pct_points"})
    return res, summ, st


def write_csv(frame, path, fsync=True):
    """Write ``frame`` as CSV (no index) to ``path`` atomically."""
    atomic_write_text(path, frame.to_csv(index=False), fsync=fsync)


def write_run_status(out, state, counts=None, **details):
    """Write ``out/run_status.json``: the run's state, task counts and ``details``.

    Written atomically; when that fails (no room left for a new file on a
    full disk), the old file is overwritten in place (truncating it frees
    its space first), so the status says what happened whenever the disk
    lets anything be written.

    Parameters
    ----------
    out : str | Path
        Output folder.
    state : str
        ``"running"``, ``"partial"``, ``"failed"``, ``"interrupted"`` or
        ``"complete"``.
    counts : dict | None
        ``done``, ``failed``, ``pending``, ``total``.
    **details
        More JSON-serialisable entries (``error``, ``failed_tasks``).
    """
    path = Path(out) / STATUS
    text = json.dumps(dict(state=state, **(counts or {}), **details), indent=1) + "\n"
    try:
        atomic_write_text(path, text)
    except OSError:
        if not path.is_file() or path.is_symlink():
            raise
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


def _what(record):
    cfg = record.get("config")
    cfg = cfg if isinstance(cfg, dict) else {}
    what = (
        f"{cfg.get('pipeline', 'M2S stage 1')} {cfg.get('setting', '')} "
        f"seed {cfg.get('seed')} subject {cfg.get('subject')} session "
        f"{cfg.get('session')} fold {cfg.get('fold')}"
    )
    return " ".join(what.split())


def _last_line(record):
    text = record.get("traceback")
    lines = text.strip().splitlines() if isinstance(text, str) else []
    return lines[-1] if lines else "(no traceback recorded)"


def status_lines(evaluation_plan, counts=None, failed=None):
    """Lines on a plan's progress: task counts, model fits, and each failed task.

    Parameters
    ----------
    evaluation_plan : EvaluationPlan
    counts, failed : dict, list of dict | None
        From ``evaluation_plan.status()`` (read from the store when None).

    Returns
    -------
    list of str
    """
    if counts is None or failed is None:
        counts, failed = evaluation_plan.status()
    lines = [
        f"store {evaluation_plan.store.root}: done {counts['done']}, pending "
        f"{counts['pending']}, failed {counts['failed']} of {counts['total']} tasks",
        fits_line(evaluation_plan),
    ]
    for record in failed:
        key = record.get("key")
        key = key[:12] if isinstance(key, str) else "?"
        lines.append(f"failed: {_what(record)} (task {key}): {_last_line(record)}")
    return lines


def fits_line(evaluation_plan):
    """One line on the model fits of a plan (its tasks: the progress bar's total)."""
    fits = evaluation_plan.fits
    return (
        f"model fits: {fits['graph_fits']} ({fits['pretrain_tasks']} M2S stage-1 "
        f"pretrainings + {fits['tasks']} result rows; {fits['flat_fits']} if each M2S "
        f"mode pretrained its own encoders)"
    )


class PartialTable:
    """``results.partial.csv``: the done rows so far, rewritten after each ``fit`` record.

    Parameters
    ----------
    path : str | Path
        The CSV file.
    evaluation_plan : EvaluationPlan
        Its done rows start the table.
    """

    def __init__(self, path, evaluation_plan):
        self.path = Path(path)
        results = evaluation_plan.results(allow_partial=True)
        self.rows = list(results.itertuples(index=False, name=None))

    def __call__(self, record):
        """Add the row of a ``done`` fit record (others are skipped) and rewrite the file."""
        row = record.get("row")
        if record.get("status") == "done" and record.get("kind") == "fit" and row:
            self.rows.append(tuple(row.get(c) for c in RESULT_COLUMNS))
            self.write()

    def write(self):
        """Rewrite the file (atomically, without a flush to disk: it is rebuilt by a rerun)."""
        import pandas as pd

        frame = pd.DataFrame(self.rows, columns=RESULT_COLUMNS)
        write_csv(percent_results(frame), self.path, fsync=False)


@dataclass
class RunReport:
    """How a run ended.

    Attributes
    ----------
    state : str
        ``"complete"``, ``"partial"`` (tasks failed), ``"failed"`` (an
        error stopped the run) or ``"status"`` (only counted).
    counts : dict
        ``done``, ``failed``, ``pending``, ``total`` (empty if the grid
        could not be planned).
    failed : list of dict
        The failed task records.
    error : str | None
        One line on why the run is not complete.
    results, predictions, summary, statistics : pandas.DataFrame | None
        The tables of a complete run (results and statistics in fractions,
        as :func:`evaluate` gives them; the summary in %).
    plan : EvaluationPlan | None
    title : str | None
        The run's title (dataset, protocol, seeds).
    reference : str | None
        The pipeline of the paired tests.
    """

    state: str
    counts: dict = field(default_factory=dict)
    failed: list = field(default_factory=list)
    error: str | None = None
    results: object = None
    predictions: object = None
    summary: object = None
    statistics: object = None
    plan: object = None
    title: str | None = None
    reference: str | None = None
    notes: list = field(default_factory=list)

    @property
    def exit_code(self):
        """0 for a complete run (or a status count), else 1."""
        return 0 if self.state in ("complete", "status") else 1


def _one_line(err):
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def run_and_report(
    pipelines,
    X,
    y,
    metadata,
    out,
    *,
    store=None,
    reference=None,
    status_only=False,
    info=None,
    class_names=None,
    m2s_figures=True,
    extra_outputs=None,
    stdout=None,
    stderr=None,
    **options,
):
    """Plan and run a grid, write its tables, statistics and figures into ``out``.

    Parameters
    ----------
    pipelines, X, y, metadata
        As :func:`~braindecode_m2s.evaluation.evaluate`.
    out : str | Path
        Output folder (created).
    store : str | Path | None
        The task store (``None``: ``out/store``); a rerun computes only the
        tasks that are missing or failed there.
    reference : str | None
        Pipeline the paired tests compare with the others (``None`` or not
        a pipeline: the first one).
    status_only : bool
        Print the counts of done, pending and failed tasks; run nothing.
    info : mne.Info | None
        The EEG channels with positions, for the topomap of M2S's spatial
        attention (``None``: no topomap).
    m2s_figures : bool
        Draw the M2S figures (attention topomap, loss curves) from the
        store, when the grid has M2S stage-1 tasks
        (:mod:`~braindecode_m2s.evaluation.figures`).
    extra_outputs : callable | None
        Called with ``out`` once the tables and the figures are written,
        before the run is marked complete.
    stdout, stderr : file | None
        Where the report and the failures are printed (``None``:
        :data:`sys.stdout` / :data:`sys.stderr`).
    **options
        ``protocol``, ``dataset``, ``cv``, ``settings``, ``seeds`` (the
        grid), ``backend``, ``n_jobs``, ``progress`` and the backend's
        options (where it runs), as :func:`~braindecode_m2s.evaluation.evaluate`.

    Returns
    -------
    RunReport
        A failed task, an error writing the outputs (``OSError``: a full
        disk) or a store folder that is not a store
        (:class:`~braindecode_m2s.evaluation.store.NotAStoreError`) ends
        the run with state ``"partial"`` or ``"failed"``
        (``run_status.json`` says the same) instead of raising. Other
        exceptions, and ``KeyboardInterrupt``, are raised after
        ``run_status.json`` is written (``"failed"``, ``"interrupted"``).
    """
    from .evaluations import plan

    streams = (
        sys.stdout if stdout is None else stdout,
        sys.stderr if stderr is None else stderr,
        time.perf_counter(),
    )
    out = check_writable_dir(out, "output folder")
    where = {"plan": None, "counts": {}}  # how far the run got, for the status of a failure
    try:
        if not status_only:
            for name in FINAL_OUTPUTS:  # nothing of an earlier run looks like this run's
                (out / name).unlink(missing_ok=True)
            write_run_status(out, "running")
        grid = {k: options.pop(k) for k in _GRID_OPTIONS if k in options}
        store = out / "store" if store is None else store
        the_plan = where["plan"] = plan(pipelines, X, y, metadata, store=store, **grid)
        counts, failed = the_plan.status()
        where["counts"] = counts
        if status_only:
            print("\n".join(status_lines(the_plan, counts, failed)), file=streams[0])
            return RunReport("status", counts, failed, plan=the_plan)
        reference = reference if reference in pipelines else next(iter(pipelines))
        figures = dict(info=info, class_names=class_names, m2s=m2s_figures, extra=extra_outputs)
        return _run(the_plan, out, reference, options, figures, streams, where)
    except BaseException as err:
        if status_only:
            raise
        return _stopped(err, out, where)


def _stopped(err, out, where):
    """Record why a run stopped in ``run_status.json``; an ``OSError`` becomes a report."""
    state = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
    counts = where["counts"]
    if where["plan"] is not None:
        try:
            counts = where["plan"].status()[0]
        except Exception:  # noqa: BLE001 - the counts of the last look will do
            pass
    try:
        write_run_status(out, state, counts, error=_one_line(err))
    except OSError:
        pass  # nothing can be written there; the error raised or returned says why
    if not isinstance(err, (OSError, NotAStoreError)):  # a bug: its traceback
        raise err
    return RunReport(
        "failed", counts, error=f"the run stopped: {_one_line(err)}", plan=where["plan"]
    )


def _run(the_plan, out, reference, options, figures, streams, where):
    """The run of :func:`run_and_report` once planned (its errors are handled there)."""
    from .evaluations import run_plan

    stdout, stderr, start = streams
    partial = PartialTable(out / PARTIAL, the_plan)
    partial.write()
    write_run_status(out, "running", where["counts"])
    failed = run_plan(the_plan, on_result=partial, **options)
    counts = where["counts"] = the_plan.status()[0]
    if failed:
        write_run_status(out, "partial", counts, failed_tasks=[r.get("key") for r in failed])
        print("\n".join(status_lines(the_plan, counts, failed)), file=stderr)
        return RunReport(
            "partial",
            counts,
            failed,
            error=(
                f"{len(failed)} task(s) failed; the {counts['done']} done are in "
                f"{partial.path}; rerun the same command to retry the others"
            ),
            plan=the_plan,
        )
    report = _write_outputs(the_plan, out, reference, figures)
    report.counts = counts
    partial.path.unlink(missing_ok=True)
    write_run_status(out, "complete", counts)  # after every output
    _print_report(report, out, stdout, start)
    return report


def _title(the_plan):
    config = the_plan.fit_tasks[0].config
    seeds = sorted({t.config["seed"] for t in the_plan.fit_tasks})
    return (
        f"{config['dataset']}, {config['protocol']}; mean ± std over subjects and seeds "
        f"(seeds {', '.join(map(str, seeds))})"
    )


def _write_outputs(the_plan, out, reference, figures):
    from .figures import write_figures
    from .statistics import paired_tests, summarize, to_markdown

    results, preds = the_plan.results(return_predictions=True)
    summary = summarize(results)
    stats = paired_tests(results, reference)
    res_pct, summ_pct, stats_pct = percent_tables(results, summary, stats)
    write_csv(res_pct, out / "results.csv")
    write_csv(summ_pct, out / "summary.csv")
    write_csv(stats_pct, out / "statistics.csv")
    title = _title(the_plan)
    atomic_write_text(
        out / "summary.md",
        f"# {title}\n\n{_summary_markdown(summary)}\n## Paired Wilcoxon signed-rank tests "
        f"against {reference}\n\n{to_markdown(stats)}",
    )
    notes = write_figures(
        the_plan, out, results, preds, figures["info"], figures["m2s"], figures["class_names"]
    )
    if figures["extra"] is not None:
        figures["extra"](out)
    tables = dict(results=results, predictions=preds, summary=summary, statistics=stats)
    return RunReport(
        "complete", plan=the_plan, title=title, reference=reference, notes=notes, **tables
    )


def _summary_markdown(summary):
    from .statistics import to_markdown

    return to_markdown(summary, scores=("score", "balanced_accuracy", "kappa"))


def short_summary(summary, score="balanced_accuracy", order=None, width=WIDTH):
    """A pipeline x setting table of one score, ``mean ± std``, within ``width`` columns.

    Parameters
    ----------
    summary : pandas.DataFrame
        From :func:`~braindecode_m2s.evaluation.statistics.summarize`.
    score : str
        The score shown.
    order : sequence of str | None
        Pipelines in the order of the rows (``None``: the summary's).
    width : int
        Widest line; more settings than fit are wrapped into further blocks.

    Returns
    -------
    str
    """
    cells = summary.assign(
        cell=[
            f"{m:.1f} ± {s:.1f}" for m, s in zip(summary[f"{score}_mean"], summary[f"{score}_std"])
        ]
    )
    table = cells.pivot_table(
        index="pipeline", columns="setting", values="cell", aggfunc="first", sort=False
    )
    columns = [s for s in PAPER_SETTINGS if s in table.columns]
    columns += [s for s in table.columns if s not in columns]
    rows = [p for p in dict.fromkeys(order or ()) if p in table.index]
    table = table.loc[rows + [p for p in table.index if p not in rows], columns].fillna("")
    table.index.name, table.columns.name = None, None
    return table.to_string(line_width=width)


def _print_report(report, out, stdout, start):
    lines = [
        report.title,
        "balanced accuracy (%):",
        short_summary(report.summary, order=[t.config["pipeline"] for t in report.plan.fit_tasks]),
        f"accuracy, kappa (x100) and paired tests against {report.reference}: "
        "summary.md, statistics.csv",
        *report.notes,
        fits_line(report.plan),
        f"written to {out}/: " + ", ".join(sorted(p.name for p in out.iterdir() if p.is_file())),
        f"store: {report.plan.store.root}; total time: {time.perf_counter() - start:.0f} s",
    ]
    for line in lines:  # the table is within WIDTH; the sentences are wrapped to it
        if "\n" not in line:
            line = textwrap.fill(line, WIDTH, break_long_words=False, break_on_hyphens=False)
        print(line, file=stdout)
