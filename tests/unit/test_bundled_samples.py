"""The sample data shipped in the package is exactly what ``relink samples`` writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from relink.samples import BUNDLED_DIR, bundled_sample, write_samples


def test_bundled_samples_match_a_fresh_generation(tmp_path: Path) -> None:
    write_samples(tmp_path)
    fresh = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    shipped = sorted(p.relative_to(BUNDLED_DIR) for p in BUNDLED_DIR.rglob("*") if p.is_file())
    assert fresh == shipped
    for relative in fresh:
        assert (tmp_path / relative).read_bytes() == (BUNDLED_DIR / relative).read_bytes(), (
            f"{relative} differs: regenerate with `relink samples lib/relink/sample_data`"
        )


def test_bundled_sample_lookup() -> None:
    sample = bundled_sample("northwind-home")
    assert sample.export.is_file() and sample.aliexpress and sample.aliexpress.is_file()
    assert sample.expected_verdict == "blocked"
    assert bundled_sample("fjord-kitchen").aliexpress is None
    with pytest.raises(KeyError, match="no bundled sample"):
        bundled_sample("nope")
