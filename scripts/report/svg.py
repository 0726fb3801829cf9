"""The opening of every generated SVG: namespace, size, title and a white background."""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = ["NAMESPACE", "start"]

#: The SVG namespace: an XML name the format requires, not an address anything is fetched from.
NAMESPACE = "http://www.w3.org/2000/svg"


def start(width: float, height: float, title: str) -> list[str]:
    """The first elements of a self-contained SVG; the caller appends shapes and the closing tag."""
    return [
        f'<svg xmlns="{NAMESPACE}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
