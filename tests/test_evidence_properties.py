"""Properties auditors rely on, against ground truth: the ledger replays to exactly what was
appended (and its writers' cache agrees), any removed entry is detected, and the comparison
of a section names exactly the items that were deleted, added or altered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from compliance import ledger
from compliance.integrity import diff_section
from compliance.reviews_check import compare_statuses
from store.embedded import EmbeddedStore

KEYS = st.sampled_from([f"m:{i}" for i in range(12)] + [f"v:{i}" for i in range(4)])
HASHES = st.sampled_from(["a" * 64, "b" * 64, "c" * 64])
SECTIONS = st.sampled_from(["day:2025-11-20", "day:2025-11-21", "deadletters"])
OPS = st.lists(
    st.tuples(SECTIONS, st.booleans(), st.dictionaries(KEYS, HASHES, min_size=1, max_size=4)), min_size=1, max_size=12
)


def _brute_force(ops: list[tuple[str, bool, dict[str, str]]]) -> dict[str, dict[str, str]]:
    model: dict[str, dict[str, str]] = {}
    for section, is_removal, items in ops:
        current = model.setdefault(section, {})
        for key, digest in items.items():
            if is_removal:
                current.pop(key, None)
            else:
                current[key] = digest
    return model


@settings(max_examples=40, deadline=None)
@given(ops=OPS)
def test_the_ledger_replays_to_what_was_appended(ops: list[tuple[str, bool, dict[str, str]]]) -> None:
    """GIVEN random additions and removals per section THEN the replayed ledger equals a plain
    dict model of them, the writers' cache agrees, and the chain verifies."""
    store = EmbeddedStore(None)
    store.init()
    for section, is_removal, items in ops:
        if is_removal:
            ledger.append(store, section, "purge", removed=items)
        else:
            ledger.append(store, section, "amend", added=items)
    folded = ledger.read(store)
    model = _brute_force(ops)
    assert folded.problems == []
    counts = ledger.counts(store)
    for section in model:
        assert folded.sections.get(section, {}) == model[section]
        assert ledger.section_items(store, section) == model[section]
        kinds = {k: n for k, n in ledger._kind_counts(model[section]).items() if n}
        assert counts.get(section, {}) == kinds
    store.close()


def test_a_writer_cache_in_the_old_one_record_shape_is_split_and_kept() -> None:
    """GIVEN an archive whose ledger cache is one record holding a section's items (before
    schema 4) WHEN the next batch is entered THEN the old items are still known (a re-delivered
    item adds no entry) and the new one is added as an amendment."""
    store = EmbeddedStore(None)
    store.init()
    ledger.append(store, "day:2025-11-20", "seal", added={"m:1": "a" * 64, "m:2": "b" * 64})
    old_items = ledger.section_items(store, "day:2025-11-20")
    for record in store.find_records(ledger.ITEMS):
        store.delete_record(ledger.ITEMS, record["_id"])
    store.put_record("meta", "ledger:day:2025-11-20", {"section": "day:2025-11-20", "items": old_items})
    assert ledger.append(store, "day:2025-11-20", "amend", added={"m:1": "a" * 64}) is None
    entry = ledger.append(store, "day:2025-11-20", "amend", added={"m:1": "a" * 64, "m:3": "c" * 64})
    assert entry is not None and entry["kind"] == "amend" and entry["added"] == {"m:3": "c" * 64}
    assert ledger.section_items(store, "day:2025-11-20") == {**old_items, "m:3": "c" * 64}
    assert ledger.read(store).problems == []
    store.close()


@settings(max_examples=25, deadline=None)
@given(ops=OPS, victim=st.integers(min_value=0))
def test_removing_any_ledger_entry_is_detected(ops: list[tuple[str, bool, dict[str, str]]], victim: int) -> None:
    """GIVEN a ledger WHEN any one entry is removed THEN replaying it reports a problem."""
    store = EmbeddedStore(None)
    store.init()
    for i, (section, _, items) in enumerate(ops):
        ledger.append(store, section, "amend", added={f"{k}-{i}": h for k, h in items.items()})
    rows = ledger.entries(store)
    del rows[victim % len(rows)]
    assert ledger.fold(rows, store.get_record(*ledger.HEAD_RECORD)).problems
    store.close()


@given(
    base=st.dictionaries(st.text("abcdef", min_size=1, max_size=4), HASHES, max_size=15),
    deleted=st.sets(st.integers(0, 20)),
    altered=st.sets(st.integers(0, 20)),
    added=st.sets(st.text("xyz", min_size=1, max_size=3), max_size=4),
)
def test_a_section_comparison_names_exactly_what_was_done(
    base: dict[str, str], deleted: set[int], altered: set[int], added: set[str]
) -> None:
    """GIVEN a sealed section and a store derived from it by deleting, altering and adding known
    items THEN the comparison reports exactly those items with those findings."""
    keys = sorted(base)
    gone = {keys[i] for i in deleted if i < len(keys)}
    changed = {keys[i] for i in altered if i < len(keys)} - gone
    stored = {k: ("f" * 64 if k in changed else h) for k, h in base.items() if k not in gone}
    stored.update({k: "e" * 64 for k in added})
    truth = sorted([(k, "deleted") for k in gone] + [(k, "altered") for k in changed] + [(k, "added") for k in added])
    assert diff_section(base, stored) == truth


@given(
    events=st.dictionaries(st.sampled_from("abcdefgh"), st.sampled_from(["confirmed", "false_positive"])),
    tampered=st.sets(st.sampled_from("abcdefgh")),
)
def test_statuses_without_their_event_are_exactly_the_tampered_ones(events: dict[str, str], tampered: set[str]) -> None:
    """GIVEN stored statuses equal to their last review event (unreviewed without one) except for
    a known set changed in the store THEN exactly that set is reported."""
    stored = {t: events.get(t, "unreviewed") for t in "abcdefgh"}
    for t in tampered:
        stored[t] = "escalated"
    problems = compare_statuses(stored, events, "violation")
    assert sorted(p.split(":")[0].split()[-1] for p in problems) == sorted(tampered)
