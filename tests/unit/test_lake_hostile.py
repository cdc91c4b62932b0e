"""Data nobody has seen yet: whatever a file holds, every row ends in a curated row or a named
quarantine reason, never in a crash, and every file's counts balance."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.logic.lake.connectors import curate
from tandem.logic.lake.reading import read_records
from tandem.logic.lake.sources import SOURCE_NAMES, sources
from tandem.models.lake_config import LakeConfig

SOURCES = sources(LakeConfig(), "Europe/London")
REASON = re.compile(r"^[a-z][a-z_]*$")
# Cells as exports get them wrong: blanks, numbers in every form, dates in every order, signs,
# unseen codes and countries, control characters, and any text at all.
CELL = st.one_of(
    st.none(),
    st.sampled_from(["", " ", "0", "-1", "1e9", "NaN", "inf", "17850.0", "C536379", "POST", "£3.50", "3,50"]),
    st.sampled_from(
        ["2010-12-01 08:26:00", "01/12/2010 08:26", "31-02-2011", "2011-03-27 01:30:00", "12/31/2010"]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.text(max_size=40),
)


@given(source=st.sampled_from(SOURCE_NAMES), data=st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_rows_are_curated_or_quarantined_with_a_reason_and_balance(
    source: str, data: st.DataObject
) -> None:
    setup = SOURCES[source]
    columns = sorted(set(setup.mapping.values()))
    # the export's columns, sometimes one missing, sometimes one it never had
    drop = data.draw(st.sets(st.sampled_from(columns), max_size=1))
    extra = data.draw(st.lists(st.sampled_from(["Notes", "Unnamed: 9", ""]), max_size=1))
    header = [c for c in columns if c not in drop] + extra
    rows = data.draw(st.lists(st.fixed_dictionaries(dict.fromkeys(header, CELL)), max_size=12))
    result = curate(setup.connector, "hostile.csv", rows, setup.mapping)
    manifest = result.manifest
    assert manifest.balanced
    assert manifest.rows_in == len(rows)
    assert all(REASON.match(reject.reason) for reject in result.rejects)
    assert sum(manifest.quarantined_by_reason.values()) == manifest.rows_quarantined
    assert all(isinstance(row, setup.connector.row_model) for row in result.rows)


@given(body=st.binary(max_size=400), name=st.sampled_from(["x.csv", "x.csv.gz", "x.jsonl", "x.ndjson"]))
@settings(max_examples=200, deadline=None)
def test_any_bytes_are_read_or_refused_as_unreadable(body: bytes, name: str) -> None:
    try:
        raw = read_records(name, body)
    except (ValueError, OSError, EOFError):
        return  # recorded in the manifest with its error (curation.curate_partition)
    setup = SOURCES["erp_orders"]
    assert curate(setup.connector, name, raw.records, setup.mapping).manifest.balanced
