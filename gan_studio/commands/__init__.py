"""Sub-commands of the `gan-studio` CLI, one module each; `arguments` holds what they share (run names, checks)."""
