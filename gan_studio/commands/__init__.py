"""Sub-commands of the `gan-studio` CLI, one module each."""
