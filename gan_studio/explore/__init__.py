"""Exploring trained models: loading a run's generator, sampling, latent operations (no Qt)."""
