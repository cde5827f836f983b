"""The run directory as a safe store: run.json, metrics and events logs, checkpoints, pictures, load_run.

Nothing here follows a symlink inside a run folder or opens a non-regular file (gan_studio.files).
"""
