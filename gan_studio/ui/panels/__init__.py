"""The main window's panels: one panel per file, each constructible on its own (e.g. in a test).

Panel protocol (every panel, including ones added by other parts of the project):

- ``TITLE: str`` (class attribute): the dock's title and the View menu entry.
- ``set_run(run: RunState | None)``: the current run changed (a training started, a run was opened,
  resumed or closed). Show what the RunState holds and subscribe to its events (with a
  `RunSubscription`); None means no run. Panels never open run files: everything is in the state.
- ``on_event(event)``: called (through the subscription) on the UI thread after each event the run
  state applied, whether the run is trained in the app or followed from disk. Events are the typed
  ones of gan_studio.events; ignore those you do not use.
- Optional: ``save_settings(QSettings)`` / ``restore_settings(QSettings)`` for preferences, and
  ``shutdown()``, called once when the window closes, to stop the panel's own threads and timers.

Panels never raise into the window for bad data: they show what they can and report problems.
"""

from __future__ import annotations

from collections.abc import Callable

from gan_studio.state.run_state import RunState


class RunSubscription:
    """A panel's subscription to the current RunState: `follow(run)` drops the previous one."""

    def __init__(self, on_event: Callable):
        self._on_event = on_event
        self._unsubscribe: Callable[[], None] | None = None
        self.run: RunState | None = None

    def follow(self, run: RunState | None) -> RunState | None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.run = run
        if run is not None:
            self._unsubscribe = run.subscribe(self._on_event)
        return run
