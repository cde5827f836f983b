"""GAN Studio: train and explore VAEs, GANs and DCGANs on your own machine."""

__version__ = "0.1.0"
