"""Exploring trained models (no Qt): what `gan-studio sample` and the explorer panel share.

- `sampling`: load a run's model, seeded latents and labels, sample grids.
- `backends`: open a run (torch) or an exported .onnx file (ONNX Runtime) behind one interface.
- `latent`: seeds, neighbours, lerp/slerp paths, A - B + C arithmetic, class mixing, z as text.
- `bases`: slider directions: latent axes, GANSpace principal directions, VAE axes by KL.
- `encoding`: a dataset image or an image file -> VAE code and reconstruction.
- `live2d`: frames of the live 2D view (real, generated, D(x) heatmap or decoded latent grid).
- `saving`: pictures (PNG), interpolation animations (GIF), latents (JSON).
- `renderer`: the render thread (latest request wins, errors returned as data).
"""
