"""Typo-tolerant title/artist search on a small index with known answers."""

from __future__ import annotations

from pathlib import Path

from musicrec.search import TextIndex, normalize_text

DOCS = [
    "Bohemian Rhapsody Queen",
    "Under Pressure Queen",
    "Smells Like Teen Spirit Nirvana",
    "Come As You Are Nirvana",
    "Café del Mar Energy 52",
    "Teenage Dream Katy Perry",
    "Dreams Fleetwood Mac",
]


def rows(index: TextIndex, query: str, limit: int = 3) -> list[int]:
    return [h.row for h in index.search(query, limit, documents=DOCS).hits]


def test_exact_words_rank_first() -> None:
    index = TextIndex.build(DOCS)
    assert rows(index, "under pressure")[0] == 1
    assert rows(index, "nirvana", 2) == [2, 3] or rows(index, "nirvana", 2) == [3, 2]


def test_typos_are_tolerated() -> None:
    index = TextIndex.build(DOCS)
    assert rows(index, "bohemain rapsody")[0] == 0
    assert rows(index, "fleetwod")[0] == 6


def test_prefix_of_the_last_word_matches_while_typing() -> None:
    index = TextIndex.build(DOCS)
    assert rows(index, "smells like te")[0] == 2
    assert 5 in rows(index, "teena")


def test_accents_and_case_are_ignored() -> None:
    assert normalize_text("CAFÉ  del-Mar!") == "cafe del mar"
    assert rows(TextIndex.build(DOCS), "cafe del mar")[0] == 4


def test_nothing_matches_gives_empty() -> None:
    index = TextIndex.build(DOCS)
    assert index.search("zzzz qqqq", 5).hits == []
    assert index.search("   ", 5).total == 0


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = TextIndex.build(DOCS)
    index.save(tmp_path)
    loaded = TextIndex.load(tmp_path)
    assert rows(loaded, "dream") == rows(index, "dream")
