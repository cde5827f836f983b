"""What each logged metric is called and where it is shown: one catalogue for the CLI's progress line,
`gan-studio runs`, the app's plots (labels and shared plots) and its live metrics table.

A metric not listed still works everywhere (under its own name, in a plot of its own); a recipe or
callback that logs a new one adds it with `register_metric` to name it and say where it goes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MetricInfo:
    """One logged metric as people see it."""

    name: str  # as logged in metrics.jsonl
    label: str  # as plots and tables name it
    plot: str = ""  # the title of the plot it shares; "" for a plot of its own
    unit: str = ""  # "%" when the value is a fraction shown in per cent
    progress: bool = False  # on the CLI's progress line while training (a quality metric by its `short` label)
    summary: bool = False  # among a run's last metrics in `gan-studio runs` and the app's Runs panel
    short: str = ""  # the label where room is short (the Runs panel's row); "" for `label`
    quality: bool = False  # a live quality metric: in the app's metrics table
    linear: bool = False  # a count or a share: its plot stays linear under "log y", where its zeros would drop out


LOSSES, D_OUTPUTS, VAE_LOSS = "Losses", "Discriminator outputs", "VAE loss (nats per sample)"

METRICS: dict[str, MetricInfo] = {}


def register_metric(info: MetricInfo) -> MetricInfo:
    """Name a metric and say where it is shown (a later registration of the same name replaces it)."""
    METRICS[info.name] = info
    return info


for built_in in (
    MetricInfo("d_loss", "D loss", LOSSES, progress=True, summary=True),
    MetricInfo("g_loss", "G loss", LOSSES, progress=True, summary=True),
    MetricInfo("d_real", "D(x)", D_OUTPUTS, summary=True),
    MetricInfo("d_fake", "D(G(z))", D_OUTPUTS, summary=True),
    MetricInfo("recon", "reconstruction", VAE_LOSS, progress=True, summary=True, short="recon"),
    MetricInfo("kl", "KL", VAE_LOSS, progress=True, summary=True),
    MetricInfo("loss", "recon + β·KL", VAE_LOSS, progress=True, summary=True, short="loss"),
    MetricInfo("diversity", "diversity", "Sample diversity (fixed noise)"),
    MetricInfo("active_units", "active units", "Active latent units", linear=True),
    MetricInfo("modes", "modes captured", summary=True, quality=True, short="modes", progress=True, linear=True),
    MetricInfo("high_quality", "high-quality samples", unit="%", quality=True, short="HQ", progress=True, linear=True),
    MetricInfo("reverse_kl", "reverse KL over modes (nats)", quality=True),
    MetricInfo("frechet_live", "Frechet distance (live sample)", summary=True, quality=True, short="FD", progress=True),
    MetricInfo(
        "label_accuracy", "label accuracy", unit="%", quality=True, short="label acc", progress=True, linear=True
    ),
):
    register_metric(built_in)


def metric_label(name: str) -> str:
    info = METRICS.get(name)
    return info.label if info is not None else name


def short_label(name: str) -> str:
    info = METRICS.get(name)
    return (info.short or info.label) if info is not None else name


def plot_of(name: str) -> str:
    """The title of the plot a metric is drawn in (a metric with a plot of its own: its label)."""
    info = METRICS.get(name)
    if info is None:
        return name
    return info.plot or info.label


def metrics_where(attribute: str) -> list[str]:
    """The names of the metrics with `attribute` ("progress", "summary", "quality") set, in catalogue order."""
    return [name for name, info in METRICS.items() if getattr(info, attribute)]
