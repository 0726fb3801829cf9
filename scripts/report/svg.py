"""What every generated SVG shares: its opening (size, title, description, background) and text measured ahead of time.

The pictures are drawn without a browser, so text is laid out from an estimate of its width. The estimate
follows DejaVu Sans, the widest common ``sans-serif``: a viewer with a narrower font sees more room, never less.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

__all__ = ["NAMESPACE", "start", "text_width", "wrap"]

#: The SVG namespace: an XML name the format requires, not an address anything is fetched from.
NAMESPACE = "http://www.w3.org/2000/svg"

#: Advance widths in em of DejaVu Sans, by character class; anything else counts as a wide lowercase letter.
_NARROW = {**dict.fromkeys(".,:;'|!", 0.32), **dict.fromkeys("ijlI", 0.28), **dict.fromkeys("ft", 0.4)}
_OTHER = {**dict.fromkeys(" ", 0.32), **dict.fromkeys("()[]", 0.4), **dict.fromkeys("rs-_", 0.52)}
_WIDE = {**dict.fromkeys("mw", 0.98), **dict.fromkeys("=+<>", 0.84), **dict.fromkeys("MW%", 1.0)}
_WIDTHS = {**_NARROW, **_OTHER, **_WIDE, **dict.fromkeys("0123456789", 0.64)}


def text_width(text: str, size: float = 11) -> float:
    """How wide ``text`` is drawn at ``size`` pixels, rounded up: uppercase at 0.78 em, lowercase at 0.64."""
    ems = sum(_WIDTHS.get(char, 0.78 if char.isupper() else 0.64) for char in text)
    return round(ems * size + 0.5, 1)


def wrap(text: str, width: float, size: float = 11) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width`` (a single longer word stays whole)."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and text_width(joined, size) <= width:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def start(width: float, height: float, title: str, desc: str | None = None) -> list[str]:
    """The first elements of a self-contained SVG; the caller appends shapes and the closing tag."""
    parts = [
        f'<svg xmlns="{NAMESPACE}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label={quoteattr(title)} font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
    ]
    if desc:
        parts.append(f"<desc>{escape(desc)}</desc>")
    parts.append(f'<rect width="{width}" height="{height}" fill="#ffffff"/>')
    return parts
