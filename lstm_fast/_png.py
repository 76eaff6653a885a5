"""A minimal PNG writer (NumPy + zlib): 8-bit grayscale or RGB, no Pillow needed.

PNG = signature, then chunks (length, type, data, CRC-32 of type+data): IHDR (size,
bit depth 8, colour type 0 = gray or 2 = RGB), one IDAT holding the zlib-compressed
scanlines, each prefixed by filter byte 0 (none), and IEND.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

__all__ = ["write_png", "encode_png", "image_grid"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 image (H, W) gray or (H, W, 3) RGB."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {img.dtype}")
    if img.ndim == 2:
        colour = 0
    elif img.ndim == 3 and img.shape[2] == 3:
        colour = 2
    else:
        raise ValueError(f"image must be (H, W) or (H, W, 3), got {img.shape}")
    height, width = img.shape[:2]
    if height == 0 or width == 0:
        raise ValueError(f"image must not be empty, got {img.shape}")
    rows = np.ascontiguousarray(img).reshape(height, -1)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), rows], axis=1).tobytes()
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b"")


def write_png(path: str | os.PathLike, image: np.ndarray) -> None:
    with open(path, "wb") as f:
        f.write(encode_png(image))


def image_grid(images: np.ndarray, columns: int | None = None, pad: int = 2, fill: int = 128) -> np.ndarray:
    """Tile N images (N, H, W) or (N, H, W, 3) into one, `columns` wide, separated by `pad` pixels of `fill`."""
    images = np.asarray(images)
    n, h, w = images.shape[:3]
    columns = columns or int(np.ceil(np.sqrt(n)))
    rows = -(-n // columns)
    out = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad) + images.shape[3:], fill, images.dtype)
    for i in range(n):
        r, c = divmod(i, columns)
        out[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = images[i]
    return out
