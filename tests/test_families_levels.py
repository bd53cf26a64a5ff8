"""Two levels of sound families, and names whose every word the family's numbers back: on
generated songs, and on the demo catalogue's 28k real songs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from musicrec import schema
from musicrec.families import Families, Family, build_families
from musicrec.families.naming import LEAN, unique_names
from musicrec.library import Library
from test_families import Songs, make_songs

SUBS = 18


@pytest.fixture
def songs(rng: np.random.Generator) -> Songs:
    return make_songs(rng)


@pytest.fixture
def families(songs: Songs) -> Families:
    return build_families(songs.vectors, songs.table, count=6, subcount=SUBS)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Library:
    """The demo catalogue built as a library (its genre labels only name families)."""
    from musicrec.build import build_library
    from musicrec.data import demo_catalogue

    path = tmp_path_factory.mktemp("demo") / "lib"
    build_library(demo_catalogue(), path)
    return Library.open(path)


def test_sub_families_nest_in_families(families: Families) -> None:
    subs = families.subfamilies
    assert len(families.families) == 6 and SUBS - 6 <= len(subs) <= SUBS + 6
    assert families.sublabels.dtype == np.int16
    parents = np.array([s.parent for s in subs])
    # Every song's sub-family belongs to its family; ids are grouped by family.
    np.testing.assert_array_equal(parents[families.sublabels], families.labels)
    assert np.all(np.diff(parents) >= 0)
    for family in families.families:
        children = [subs[i] for i in family.children]
        assert [c.key for c in children] == [f"{family.id}.{j}" for j in range(len(children))]
        assert sum(c.size for c in children) == family.size
        assert [c.size for c in children] == sorted((c.size for c in children), reverse=True)
    assert [s.size for s in subs] == np.bincount(families.sublabels).tolist()
    names = [f.name.casefold() for f in (*families.families, *subs)]
    assert len(set(names)) == len(names)


def test_assign_and_lookup_of_sub_families(songs: Songs, families: Families) -> None:
    np.testing.assert_array_equal(families.assign_sub(songs.vectors), families.sublabels)
    sub = families.subfamilies[3]
    assert families.by_name_or_id(sub.key) is sub
    assert families.by_name_or_id(sub.name.upper()) is sub
    assert sub.size == np.count_nonzero(families.sublabels == sub.id)
    neighbours, children = families.related(families.families[0])
    assert [c.parent for c in children] == [0] * len(children) and len(neighbours) == 5


def test_both_levels_survive_save_and_load(families: Families, tmp_path: Path) -> None:
    families.save(tmp_path)
    loaded = Families.load(tmp_path, len(families.labels))
    assert loaded.subfamilies == families.subfamilies and loaded.families == families.families
    for name in ("sublabels", "subcentroids", "weights"):
        np.testing.assert_array_equal(getattr(loaded, name), getattr(families, name))


def test_artist_context_outweighs_audio_in_the_clustering(songs: Songs) -> None:
    """Audio-feature dimensions are turned down against the others, found by their names."""
    dims = ["tempo", "key_sin", *(f"artist_learned_{i}" for i in range(14))]
    built = build_families(songs.vectors, songs.table, count=6, dims=dims)
    assert built.weights[:2].tolist() == [0.25, 0.25] and set(built.weights[2:]) == {1.0}
    plain = build_families(songs.vectors, songs.table, count=6)
    assert set(plain.weights.tolist()) == {1.0}


def check_words(families: list[Family], labels: np.ndarray, table: pa.Table) -> int:
    """Assert that every word a family's numbers are said to back (those in its name first)
    agrees with its songs, recomputed here from the catalogue; the number of words checked."""
    checked = 0
    for family in families:
        rows = np.flatnonzero(labels == family.id)
        for word in family.words:
            assert word["word"].casefold() in family.name.casefold() or "rank" in word
            if "share" in word:  # a genre label: the share of the family's songs it has
                values = np.array(table.column(word["column"]).to_pylist(), dtype=object)
                share = np.mean([str(v).lower() == word["word"] for v in values[rows]])
                assert share == pytest.approx(word["share"], abs=1e-3) and share >= 0.3
                continue
            if word["feature"] == "year":
                continue
            feature = schema.BY_NAME[word["feature"]]
            above = word["word"] == feature.traits[0]
            assert above or word["word"] == feature.traits[1]
            column = table.column(feature.name).cast(pa.float64()).to_numpy(
                zero_copy_only=False)
            known = column[~np.isnan(column)]
            mine = column[rows][~np.isnan(column[rows])]
            median, centre = np.median(mine), np.median(known)
            assert median == pytest.approx(word["family_median"])
            # The family's typical song outranks (or is outranked by) most of the catalogue.
            rank = np.mean([(np.sum(known < v) + 0.5 * np.sum(known == v)) / len(known)
                            for v in mine[:: max(1, len(mine) // 200)]])
            if above:
                assert median >= centre and rank >= 0.5 + LEAN - 0.05
                assert feature.trait_split is None or median > feature.trait_split
            else:
                assert median <= centre and rank <= 0.5 - LEAN + 0.05
                assert feature.trait_split is None or median < feature.trait_split
            checked += 1
    return checked


def test_every_word_is_backed_by_the_numbers(songs: Songs, families: Families) -> None:
    assert check_words(families.families, families.labels, songs.table) >= 3
    assert check_words(families.subfamilies, families.sublabels, songs.table) >= 3


def test_real_names_are_backed_and_not_misleading(demo: Library) -> None:
    fam = demo.families
    assert 20 <= len(fam.families) <= 30 and 40 <= len(fam.subfamilies) <= 70
    assert check_words(fam.families, fam.labels, demo.table) >= 40
    assert check_words(fam.subfamilies, fam.sublabels, demo.table) >= 80
    # The family of Guetta and Garrix (danceability median about 0.6) is not "undanceable",
    # and the labels of the catalogue name it.
    for artist in ("David Guetta", "Martin Garrix"):
        family = next(f for f in fam.families if artist in dict(f.top_artists[:3]))
        assert "undanceable" not in family.name.lower() and "edm" in family.name.lower()


def test_tracks_and_seeds_know_sub_families(demo: Library) -> None:
    record = demo.tracks([5])[0]
    sub = demo.families.subfamilies[int(demo.families.sublabels[5])]
    assert record["subfamily"] == sub.key and record["subfamily_name"] == sub.name
    assert sub.parent == record["family"]
    rows, name = demo.genre_seed(sub.key)
    assert name == sub.name and set(rows.tolist()) <= set(np.flatnonzero(
        demo.families.sublabels == sub.id).tolist())
    assert demo.genre_seed(sub.name.lower())[1] == sub.name
    assert sub.name in demo.genre_seeds()


def test_names_alike_but_for_word_order_are_told_apart() -> None:
    def words(*names: str) -> list[dict[str, object]]:
        return [{"word": n, "rank": 0.7} for n in names]

    names = unique_names([words("wordy", "danceable", "sad"), words("danceable", "wordy", "loud"),
                          words("quiet")], [[], [], []], [[], [], []], taken=["Quiet"])
    assert names == ["Wordy danceable sad", "Danceable wordy loud", "Quiet I"]
