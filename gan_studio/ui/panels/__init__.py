"""The main window's panels: one panel per file, each constructible on its own (e.g. in a test).

Panel protocol (every panel, including ones added by other parts of the project):

- ``TITLE: str`` (class attribute): the dock's title and the View menu entry.
- ``set_run(run_path: pathlib.Path | None)``: the current run changed (a training started, a run
  was opened, resumed or closed). Load what the run directory already holds (run.json,
  metrics.jsonl, events.jsonl, samples/) and forget the previous run; None means no run.
- ``on_update(update: dict)``: called on the UI thread with every update of the current run, in
  order, whether it is trained in the app (the Trainer's dicts, forwarded from the worker thread)
  or written by another process and followed live from disk. ``update["kind"]`` is one of
  ``started`` (step, total_steps, run), ``metrics`` (a metrics.jsonl record), ``sample`` (step,
  path of the new grid), ``event`` (e.g. type "hparam": name, old, new, step), ``paused``,
  ``resumed``, ``finished`` (status), ``diverged`` (message), ``failed`` (message) and, for
  followed runs, ``status`` (run.json status changed). Records read in ``set_run`` may arrive
  again here: compare steps. Ignore kinds you do not use.
- Optional: ``save_settings(QSettings)`` / ``restore_settings(QSettings)`` for preferences, and
  ``shutdown()``, called once when the window closes, to stop the panel's own threads and timers.

Panels never raise into the window for bad data: they show what they can and report problems
(the window also guards each call).
"""
