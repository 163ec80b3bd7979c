"""Images with Pillow: size, integrity and thumbnails, within pixel limits.

Thumbnails decode as little as possible: JPEG *draft* mode lets libjpeg decode at
1/2, 1/4 or 1/8 scale (the DCT does the shrinking), the first frame of an animation
is used, and the EXIF orientation is applied so the thumbnail stands the right way
up.  Images above ``max_pixels`` are refused before any pixel is decoded (Pillow's
decompression-bomb check turned into an error), and truncated files are an error,
never a half-grey picture.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from services.attachments.types import AnalysisStatus, UnreadableAttachment

__all__ = ["ImageInfo", "image_info", "thumbnail"]

DEFAULT_MAX_PIXELS = 64_000_000  # 8000 x 8000: more than any camera, below Pillow's bomb limit


@dataclass(frozen=True, slots=True)
class ImageInfo:
    format: str
    size: tuple[int, int]
    frames: int


def _open(data: bytes, max_pixels: int) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UnreadableAttachment(f"image too large: {exc}",
                                   status=AnalysisStatus.TOO_LARGE) from exc
    except UnidentifiedImageError as exc:
        raise UnreadableAttachment("not an image Pillow can read",
                                   status=AnalysisStatus.CORRUPT) from exc
    except Exception as exc:  # broken headers: plugins raise almost anything
        raise UnreadableAttachment(f"unreadable image header: {type(exc).__name__}: {exc}",
                                   status=_status(exc)) from exc
    width, height = image.size
    if width <= 0 or height <= 0 or width * height > max_pixels:
        image.close()
        raise UnreadableAttachment(
            f"image of {width}x{height} pixels is over the limit of {max_pixels:,}",
            status=AnalysisStatus.TOO_LARGE)
    return image


def _status(exc: BaseException) -> AnalysisStatus:
    text = str(exc).lower()
    if "truncated" in text or "premature end" in text or isinstance(exc, EOFError):
        return AnalysisStatus.TRUNCATED
    return AnalysisStatus.CORRUPT


@contextmanager
def _guard(what: str) -> Iterator[None]:
    """Pillow's plugins raise almost anything on hostile bytes (IndexError,
    struct.error, ZeroDivisionError ...): every failure becomes a status."""
    try:
        yield
    except UnreadableAttachment:
        raise
    except MemoryError as exc:
        raise UnreadableAttachment(f"{what}: out of memory",
                                   status=AnalysisStatus.TOO_LARGE) from exc
    except Exception as exc:
        raise UnreadableAttachment(f"{what}: {type(exc).__name__}: {exc}",
                                   status=_status(exc)) from exc


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError) as exc:
        raise UnreadableAttachment(f"cannot decode the image: {exc}", status=_status(exc)) from exc


def image_info(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> ImageInfo:
    """Format, size and frame count; decodes the first frame (at reduced scale for JPEG)
    to find truncated or corrupt files."""
    image = _open(data, max_pixels)
    with image:
        with _guard("cannot decode the image"):
            frames = int(getattr(image, "n_frames", 1))
            image.seek(0)
            info = ImageInfo(str(image.format or ""), image.size, frames)
            if image.format == "JPEG":
                image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            _load(image)
        return info


def thumbnail(data: bytes, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS,
              fmt: str = "PNG") -> bytes:
    """A thumbnail fitting in ``size`` as PNG (or JPEG) bytes."""
    image = _open(data, max_pixels)
    with image, _guard("cannot decode the image"):
        return _thumbnail(image, size, fmt)


def _thumbnail(image: Image.Image, size: tuple[int, int], fmt: str) -> bytes:
    image.seek(0)  # the first frame of an animation
    orientation = image.getexif().get(0x0112, 1)
    box = size if orientation not in (5, 6, 7, 8) else (size[1], size[0])
    if image.format == "JPEG":
        image.draft("RGB", box)  # libjpeg scales while decoding
    _load(image)
    frame = image if image.mode in ("RGB", "RGBA", "L", "LA") else image.convert(
        "RGBA" if "transparency" in image.info or image.mode in ("PA", "P") else "RGB")
    frame = ImageOps.exif_transpose(frame) or frame
    frame.thumbnail(size, Image.Resampling.LANCZOS)
    if fmt == "JPEG" and frame.mode not in ("RGB", "L"):
        frame = frame.convert("RGB")
    buf = io.BytesIO()
    frame.save(buf, fmt, **({"quality": 85} if fmt == "JPEG" else {"compress_level": 1}))
    return buf.getvalue()
