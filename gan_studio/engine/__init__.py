"""Training engine (no Qt): the Trainer loop, per-family recipes, the run recorder, controls, torchrun.

Run directories, checkpoints and pictures live in gan_studio.store; the event vocabulary in
gan_studio.events.
"""
