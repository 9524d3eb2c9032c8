"""URL slugs: lower-case ASCII with German transliteration (ä→ae, ö→oe, ü→ue, ß→ss)."""

import re
import unicodedata

SLUG_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"

_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ẞ": "ss"})
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Return the slug of `text`: `Dessau-Roßlau` → `dessau-rosslau`."""
    german = text.lower().translate(_GERMAN)
    ascii_only = unicodedata.normalize("NFKD", german).encode("ascii", "ignore").decode()
    return _NON_ALNUM.sub("-", ascii_only).strip("-")
