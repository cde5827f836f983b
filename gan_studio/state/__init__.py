"""Qt-free observable state of what the app shows: a run's state built from its events (RunState),
followed live from disk (RunTail). Panels subscribe to it instead of reading run files."""
