"""Thumbnails of stored pictures (lead photos, case evidence), shared by the pages that show them.

Pictures come from the content-addressed store, whose files never change under their hash, so
callers may cache a thumbnail by sha256 for as long as they live."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImageReader, QPixmap

#: Big enough to recognise a scene, small enough for a row of them beside the text.
THUMB = QSize(150, 112)


def load_thumbnail(path: Path, size: QSize = THUMB) -> QPixmap | None:
    """The picture at ``path`` scaled to fit ``size``, or None when it cannot be read.

    QImageReader decodes a JPEG straight at the reduced size, so a 12-megapixel phone photo
    costs little memory; auto-transform honours the EXIF rotation phones write."""
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid() and (full.width() > size.width() or full.height() > size.height()):
        reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    if image.isNull():
        return None
    if image.width() > size.width() or image.height() > size.height():
        # Formats the reader cannot scale while decoding (and rotated photos) are scaled here.
        image = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return QPixmap.fromImage(image)
