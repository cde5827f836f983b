"""The latent explorer panel: the image and its neighbours on one side, the tabs that steer z and y
(sliders, conditions, interpolation, arithmetic, encoding, the live 2D view) on the other. Its state
and render jobs are Qt-free (gan_studio.explore.state.ExplorerState)."""

from gan_studio.ui.panels.explorer.panel import ExplorerPanel

__all__ = ["ExplorerPanel"]
