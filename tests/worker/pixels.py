"""The colour a region of a captured image averages to, as the RGB tuple the test patterns are
written in: Pillow's getpixel types a pixel as a float, a tuple or None by image mode."""

from __future__ import annotations

from PIL import Image


def average_colour(image: Image.Image, box: tuple[int, int, int, int]) -> tuple[int, ...]:
    """The region (left, top, right, bottom) shrunk to one pixel."""
    pixel = image.crop(box).resize((1, 1)).getpixel((0, 0))
    assert isinstance(pixel, tuple), f"a {image.mode} image has no colour channels"
    return pixel
