"""Fonts for text drawn into pictures (class names beside grid rows), with fallback for any script.

No one font has every character: DejaVu Sans covers Latin, Greek and Cyrillic, but class folders
named "零 zero" or "猫" need a CJK font. Text is split into runs, each drawn with the first font of
the chain that has its characters (a character a font lacks draws as that font's missing-glyph box,
which is how a missing one is recognised); Pillow's own ASCII font is the last resort.
"""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw, ImageFont

# wide-coverage fonts first, then fonts for scripts they lack (CJK, Arabic, Hebrew, Devanagari, Thai), as
# found in the usual font folders of Linux, Windows and macOS
LABEL_FONTS = ("DejaVuSans.ttf", "NotoSans-Regular.ttf", "segoeui.ttf", "arial.ttf", "Arial Unicode.ttf",
               "Helvetica.ttc")  # fmt: skip
FALLBACK_FONTS = ("DroidSansFallbackFull.ttf", "DroidSansFallback.ttf", "NotoSansCJK-Regular.ttc",
                  "NotoSansCJKsc-Regular.otf", "NotoSansCJKjp-Regular.otf", "wqy-microhei.ttc", "wqy-zenhei.ttc",
                  "msyh.ttc", "msgothic.ttc", "malgun.ttf", "PingFang.ttc", "Hiragino Sans GB.ttc",
                  "NotoSansArabic-Regular.ttf", "NotoSansHebrew-Regular.ttf", "NotoSansDevanagari-Regular.ttf",
                  "NotoSansThai-Regular.ttf", "tahoma.ttf", "seguisym.ttf")  # fmt: skip
NOT_A_CHARACTER = "\U0010fffd"  # a private-use code point: every font draws its missing-glyph box for it

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=8)
def font_chain(size: int) -> tuple[Font, ...]:
    """The fonts this system has for labels: the first of LABEL_FONTS, then every fallback found, then
    Pillow's default."""
    chain: list[Font] = []
    primary_found = False
    for name in (*LABEL_FONTS, *FALLBACK_FONTS):
        if primary_found and name in LABEL_FONTS:
            continue
        try:
            chain.append(ImageFont.truetype(name, size))
        except OSError:
            continue
        primary_found = primary_found or name in LABEL_FONTS
    chain.append(ImageFont.load_default(size=size))
    return tuple(chain)


def label_font(size: int) -> Font:
    """The main font for labels (the first of the chain)."""
    return font_chain(size)[0]


@functools.lru_cache(maxsize=4096)
def _draws(font: Font, character: str) -> bool:
    """Whether `font` has a glyph for `character` (it does not draw its missing-glyph box)."""
    return character.isspace() or _picture(font, character) != _picture(font, NOT_A_CHARACTER)


@functools.lru_cache(maxsize=64)
def _picture(font: Font, character: str) -> bytes:
    box = font.getbbox(character)
    image = Image.new("L", (max(1, box[2] - box[0]) + 2, max(1, box[3] - box[1]) + 2))
    ImageDraw.Draw(image).text((-box[0] + 1, -box[1] + 1), character, fill=255, font=font)
    return image.tobytes() + bytes(str(image.size), "ascii")


def font_runs(text: str, size: int) -> list[tuple[str, Font]]:
    """`text` cut into runs, each with the first font of the chain that draws its characters."""
    chain = font_chain(size)
    runs: list[tuple[str, Font]] = []
    for character in text:
        font = next((f for f in chain[:-1] if _draws(f, character)), chain[0])
        if runs and runs[-1][1] is font:
            runs[-1] = (runs[-1][0] + character, font)
        else:
            runs.append((character, font))
    return runs


def text_width(text: str, size: int) -> float:
    return sum(font.getlength(part) for part, font in font_runs(text, size))


def draw_text_right(draw: ImageDraw.ImageDraw, right: float, middle: float, text: str, size: int, fill) -> None:
    """Draw `text` ending at x = `right`, centred on y = `middle`, each run in a font that has it."""
    x = right - text_width(text, size)
    for part, font in font_runs(text, size):
        draw.text((x, middle), part, fill=fill, font=font, anchor="lm")
        x += font.getlength(part)
