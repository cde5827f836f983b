"""Quality metrics: mode coverage on 2D toys, classifier-feature metrics on images, VAE likelihoods.

`report.evaluate_run(RUN)` computes the full report that `gan-studio eval` prints and the app's
metrics panel shows; `live.live_metrics(trainer)` the cheap numbers logged during training.
Everything here is plain torch/numpy (no Qt), so it runs headless.
"""

from gan_studio.errors import GanStudioError


class EvaluationCancelled(GanStudioError):
    """The user cancelled an evaluation; raised between its stages."""
