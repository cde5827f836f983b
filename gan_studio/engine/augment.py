"""DiffAugment (Zhao et al. 2020): differentiable augmentations of every image the discriminator sees.

The same random transformations are applied to real and to generated images, in D's update and
in G's, so D cannot tell them apart by the augmentation and G gets gradients through it; this
lets GANs train on small datasets without D memorising them. Policies combine `color`
(brightness, saturation, contrast), `translation` (shifts of up to 1/8 of the side, zero fill) and
`cutout` (a zeroed square of half the side). Random numbers come from torch's global generator,
so a seeded run (and its resume) draws the same transformations.
"""

from __future__ import annotations

import torch

TRANSLATION_RATIO = 0.125  # largest shift as a fraction of the image side
CUTOUT_RATIO = 0.5  # side of the cut-out square as a fraction of the image side


def brightness(x: torch.Tensor) -> torch.Tensor:
    """Add one random offset in [-0.5, 0.5) per image."""
    return x + (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)


def saturation(x: torch.Tensor) -> torch.Tensor:
    """Scale each pixel's distance from its channel mean by a random factor in [0, 2) per image."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + mean


def contrast(x: torch.Tensor) -> torch.Tensor:
    """Scale the distance from the image mean by a random factor in [0.5, 1.5) per image."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = TRANSLATION_RATIO) -> torch.Tensor:
    """Shift each image by a random whole number of pixels (up to ratio x side) in y and x; zeros fill in."""
    b, c, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_y, max_y + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-max_x, max_x + 1, (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1) - dy  # source row of each output row (B, H, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w) - dx  # source column (B, 1, W)
    inside = ((rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)).to(x.dtype)  # (B, H, W)
    index = rows.clamp(0, h - 1) * w + cols.clamp(0, w - 1)  # (B, H, W)
    moved = x.flatten(2).gather(2, index.view(b, 1, h * w).expand(b, c, h * w))  # (B, C, H*W)
    return moved.view(b, c, h, w) * inside[:, None]


def cutout(x: torch.Tensor, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    """Zero a square of ratio x side at a random centre of each image (clipped at the border)."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), device=x.device)
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((rows - cy).abs() <= size_y // 2) & ((cols - cx).abs() <= size_x // 2)  # (B, H, W)
    return x * (~inside).to(x.dtype)[:, None]


TRANSFORMS = {"color": (brightness, saturation, contrast), "translation": (translation,), "cutout": (cutout,)}


def diff_augment(x: torch.Tensor, policy: str) -> torch.Tensor:
    """Images (B, C, H, W) through the policy's transformations ("color,translation,cutout"; "off": unchanged)."""
    if policy in ("", "off"):
        return x
    for name in policy.split(","):
        for transform in TRANSFORMS[name]:
            x = transform(x)
    return x.contiguous()
