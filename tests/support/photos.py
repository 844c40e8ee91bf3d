"""A resident's photo as a phone writes it (GPS position, camera, owner's name, a rotation), and what a
published copy must not carry, for the tests of every way a photo reaches the bot."""

from __future__ import annotations

import io

from PIL import Image, PngImagePlugin
from PIL.ExifTags import GPS, IFD, Base

OWNER = "Jane Q Resident"
CAMERA = "iPhone 15 Pro"
# EXIF orientation 6: the sensor's picture is turned 90 degrees; a viewer rotates it clockwise to show it.
TURNED = 6
_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>'
    + OWNER.encode()
    + b"</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
)
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP"}


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = "Apple"
    exif[Base.Model] = CAMERA
    exif[Base.Artist] = OWNER
    exif[Base.DateTime] = "2026:05:01 10:00:00"
    exif[Base.Orientation] = orientation
    exif[IFD.GPSInfo] = {
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: (37.0, 46.0, 29.5),
        GPS.GPSLongitudeRef: "W",
        GPS.GPSLongitude: (122.0, 25.0, 10.2),
    }
    return exif


def picture() -> Image.Image:
    """64x32: the left half blue, the right half red, so a rotation shows."""
    image = Image.new("RGB", (64, 32), (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, 32, 32))
    return image


def photo_with_metadata(media_type: str = "image/jpeg") -> bytes:
    """``picture()`` as a phone's photo of ``media_type``: EXIF with GPS, camera, owner and orientation 6
    where the format has EXIF, and the owner's name in XMP, a comment or a text chunk."""
    out = io.BytesIO()
    image = picture()
    if media_type == "image/jpeg":
        image.save(out, "JPEG", exif=_exif(TURNED), xmp=_XMP, comment=OWNER.encode(), quality=95)
    elif media_type == "image/png":
        text = PngImagePlugin.PngInfo()
        text.add_text("Author", OWNER)
        image.save(out, "PNG", exif=_exif(TURNED), pnginfo=text)
    elif media_type == "image/webp":
        image.save(out, "WEBP", exif=_exif(TURNED), xmp=_XMP, lossless=True)
    else:
        image.convert("P").save(out, "GIF", comment=OWNER.encode())
    return out.getvalue()


def iphone_mpo_with_metadata() -> bytes:
    """``picture()`` as many iPhones save a JPEG: an MPO, the photo then a smaller image after it (an HDR
    gain map), each with its own EXIF."""
    out = io.BytesIO()
    image = picture()
    image.save(out, "MPO", save_all=True, append_images=[image.resize((16, 8))], exif=_exif(TURNED))
    return out.getvalue()


def assert_published_without_metadata(served: bytes, media_type: str = "image/jpeg") -> None:
    """``served`` is ``photo_with_metadata(media_type)``'s picture, shown as the phone meant it, with
    nothing of the phone's metadata."""
    for private in (OWNER.encode(), CAMERA.encode(), b"Apple", b"Exif", b"xmpmeta"):
        assert private not in served, f"{private!r} is still in the published {media_type}"
    with Image.open(io.BytesIO(served)) as image:
        assert image.format == FORMATS[media_type]
        assert not image.getexif(), f"EXIF left in the published {media_type}: {dict(image.getexif())}"
        # GIF has no EXIF; the others' orientation 6 is shown turned 90 degrees clockwise.
        expected = picture() if media_type == "image/gif" else picture().transpose(Image.Transpose.ROTATE_270)
        shown = image.convert("RGB")
        assert shown.size == expected.size, "the orientation the phone recorded is applied to the pixels"
        for corner in ((0, 0), (shown.width - 1, shown.height - 1)):
            got, want = shown.getpixel(corner), expected.getpixel(corner)
            assert isinstance(got, tuple)
            assert isinstance(want, tuple)
            assert all(abs(a - b) < 40 for a, b in zip(got, want, strict=True)), (corner, got, want)
