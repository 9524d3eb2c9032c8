"""Slugs are lower-case ASCII with German transliteration."""

import re

import pytest

from hub.slugs import SLUG_PATTERN, slugify


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Königswinter", "koenigswinter"),
        ("Lutherstadt Wittenberg", "lutherstadt-wittenberg"),
        ("Dessau-Roßlau", "dessau-rosslau"),
        ("Weißwasser/O.L.", "weisswasser-o-l"),
        ("Rheinfelden (Baden)", "rheinfelden-baden"),
        ("Gießen", "giessen"),
        ("Übach-Palenberg", "uebach-palenberg"),
        ("Bad Sulza", "bad-sulza"),
        ("Château-Thierry", "chateau-thierry"),
    ],
)
def test_slugify_transliterates_german_and_joins_words_with_hyphens(name: str, slug: str) -> None:
    assert slugify(name) == slug
    assert re.match(SLUG_PATTERN, slug)
