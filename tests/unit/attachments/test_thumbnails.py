from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from services.attachments import AnalysisStatus, AttachmentManager, UnreadableAttachment
from services.models import Attachment
from tests.unit.attachments import samples


def att(name: str, data: bytes) -> Attachment:
    return Attachment(name, loader=lambda: data)


def image_of(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


def test_jpeg_thumbnail_fits_box(manager: AttachmentManager) -> None:
    thumb = image_of(manager.thumbnail_png(att("big.jpg", samples.jpeg((2000, 1000))), 128))
    assert thumb.size == (128, 64)
    r, g, b = thumb.getpixel((10, 32))  # left half is red
    assert r > 150 and g < 90 and b < 90
    assert min(thumb.getpixel((120, 32))) > 230


def test_exif_orientation_applied(manager: AttachmentManager) -> None:
    # orientation 6: the stored 400x200 picture is shown rotated 90° clockwise: 200 wide
    thumb = image_of(manager.thumbnail_png(att("phone.jpg", samples.jpeg((400, 200), 6)), 100))
    assert thumb.size == (50, 100)
    r, g, _ = thumb.getpixel((25, 10))  # the red (left) half is now on top
    assert r > 150 and g < 90
    assert min(thumb.getpixel((25, 90))) > 230


def test_first_frame_of_animation(manager: AttachmentManager) -> None:
    thumb = image_of(manager.thumbnail_png(att("anim.gif", samples.animated_gif()), 64))
    assert thumb.size == (64, 43) or thumb.size == (64, 42)
    r, g, b = thumb.getpixel((30, 20))
    assert r > 200 and g < 50 and b < 50  # red: the first frame, not blue or green


def test_pdf_first_page_is_rendered(manager: AttachmentManager) -> None:
    pdf = samples.make_pdf(["Big first page text " * 3, "second"])
    thumb = image_of(manager.thumbnail_png(att("doc.pdf", pdf), (200, 200)))
    assert thumb.height == 200 and 150 <= thumb.width <= 156  # letter page, portrait
    colors = thumb.getcolors(200 * 200) or []
    dark = sum(n for n, c in colors if max(c) < 128)
    white = sum(n for n, c in colors if min(c) > 240)
    assert white > 0.8 * thumb.width * thumb.height and dark > 20  # white page with text


def test_cached_by_hash_and_size(manager: AttachmentManager) -> None:
    data = samples.jpeg((800, 600))
    first = manager.thumbnail_png(att("a.jpg", data), 64)
    assert manager.cache.get(f"thumb:{att('x', data).sha256}:64x64") == first
    assert manager.thumbnail_png(att("b.jpg", data), 64) == first
    assert image_of(manager.thumbnail_png(att("a.jpg", data), 32)).size == (32, 24)


@pytest.mark.parametrize(
    ("name", "make", "status"),
    [
        ("bomb.png", samples.png_bomb, AnalysisStatus.TOO_LARGE),
        ("cut.jpg", lambda: samples.jpeg((800, 600))[:2500], AnalysisStatus.TRUNCATED),
        ("zero.jpg", lambda: b"", AnalysisStatus.EMPTY),
        ("locked.pdf", lambda: samples.encrypt_pdf(samples.make_pdf(["x"]), "pw"),
         AnalysisStatus.ENCRYPTED),
        ("notes.txt", lambda: b"hello", AnalysisStatus.UNSUPPORTED),
        ("broken.png", lambda: samples.png()[:60] + bytes(40) + samples.png()[100:],
         AnalysisStatus.CORRUPT),
        ("noise.png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(50), AnalysisStatus.UNSUPPORTED),
    ],
)
def test_bad_input_raises_with_status(manager: AttachmentManager, name: str, make: object,
                                      status: AnalysisStatus) -> None:
    data = make()  # type: ignore[operator]
    with pytest.raises(UnreadableAttachment) as info:
        manager.thumbnail_png(att(name, data))
    assert info.value.status is status and isinstance(info.value, ValueError)


def test_create_thumbnail_next_to_saved_file(manager: AttachmentManager, tmp_path: Path) -> None:
    a = att("photo.jpg", samples.jpeg((640, 480)))
    saved = a.save(tmp_path / "images" / a.filename)
    thumb = manager.create_thumbnail(a, saved)  # the spec's call: the image is untouched
    assert saved.read_bytes() == a.read()
    assert thumb == saved.with_name("photo.thumb.png") and image_of(thumb.read_bytes()).size == (
        256, 192)
    in_dir = manager.create_thumbnail(a, tmp_path / "images", 64)
    assert in_dir.name == "photo.thumb.png" and image_of(in_dir.read_bytes()).size == (64, 48)
    explicit = manager.create_thumbnail(a, tmp_path / "t" / "x.thumb.png", 32)
    assert explicit.exists() and not list((tmp_path / "t").glob(".commhub-*"))
