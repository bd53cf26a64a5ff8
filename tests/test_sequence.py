"""Sequencing on hand-made songs with known answers: the DJ's rule, the orders, the relevance
budget and the artist window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from musicrec import sequence
from musicrec.sequence import Mix, arrange

KEYLESS_NOTE = "this library has no known key: the songs are ordered by energy, loudness or " \
               "tempo only"


def keyless_library(folder: Path) -> Path:
    """A library of 400 synthetic songs with no key detected (-1): its path."""
    import pandas as pd

    from musicrec.build import build_library
    from musicrec.synth import write_catalogue

    csv = folder / "keyless.csv"
    write_catalogue(csv, 400, seed=3)
    frame = pd.read_csv(csv)
    frame["key"] = -1
    frame.to_csv(csv, index=False)
    build_library(csv, folder / "keyless")
    return folder / "keyless"


class Songs:
    """Columns of a few songs, as `Mix.of` reads them from a library."""

    def __init__(self, **columns: list[float]):
        self.columns = {name: np.asarray(values, dtype=np.float32)
                        for name, values in columns.items()}

    def has_column(self, name: str) -> bool:
        return name in self.columns

    def numeric(self, name: str) -> np.ndarray:
        return self.columns[name]


def songs(n: int, seed: int = 0, **fixed: list[float]) -> Songs:
    rng = np.random.default_rng(seed)
    columns = {"tempo": rng.uniform(80, 160, n).round(), "key": rng.integers(0, 12, n),
               "mode": rng.integers(0, 2, n), "energy": rng.uniform(0, 1, n),
               "loudness": rng.uniform(-14, -3, n)}
    return Songs(**{**{k: list(v) for k, v in columns.items()}, **fixed})


def smooth_share(mix: Mix, rows: list[int]) -> float:
    return float(mix.smooth(np.array(rows[:-1]), np.array(rows[1:])).mean())


@pytest.mark.parametrize(("key", "mode", "smooth"), [
    (0, 1, True),    # C major to itself (8B)
    (7, 1, True),    # G major, one step around the wheel (9B)
    (5, 1, True),    # F major, one step the other way (7B)
    (9, 0, True),    # A minor, the relative minor (8A)
    (2, 1, False),   # D major, two steps (10B)
    (4, 0, False),   # E minor (9A): a step and a change of mode
    (0, 0, False),   # C minor (5A)
    (-1, 1, True),   # no key detected: only the tempo counts
])
def test_camelot_neighbours(key: int, mode: int, smooth: bool) -> None:
    mix = Mix.of(Songs(tempo=[120, 120], key=[0, key], mode=[1, mode], energy=[0.5, 0.5],
                       loudness=[-6, -6]))
    assert bool(mix.smooth(np.array([0]), np.array([1]))[0]) is smooth


@pytest.mark.parametrize(("tempo", "smooth"), [
    (127.0, True), (113.3, True), (128.0, False), (112.0, False),
    (61.0, True), (240.0, True), (256.0, False), (0.0, True),  # 0: no pulse, unknown
])
def test_tempo_within_six_percent_or_doubled(tempo: float, smooth: bool) -> None:
    mix = Mix.of(Songs(tempo=[120, tempo], key=[0, 0], mode=[1, 1], energy=[0.5, 0.5],
                       loudness=[-6, -6]))
    assert bool(mix.smooth(np.array([0]), np.array([1]))[0]) is smooth


def test_transitions_in_words() -> None:
    mix = Mix.of(Songs(tempo=[120, 124, 200], key=[0, 7, 1], mode=[1, 1, 0],
                       energy=[0.5, 0.62, 0.9], loudness=[-6, -5.5, -3]))
    first, second = mix.transitions([0, 1], [1, 2])
    assert first.smooth and first.text() == \
        "120 → 124 BPM · 8B → 9B · energy 50% → 62% · loudness −6.0 → −5.5 dB"
    assert not second.smooth and second.text().startswith("124 → 200 BPM · 9B → 12A")


def test_smooth_order_mixes_better_than_the_given_one() -> None:
    lib = songs(40)
    mix = Mix.of(lib)
    given = list(range(40))
    ordered = arrange(mix, given, 40, "smooth")
    assert sorted(ordered) == given  # nothing to swap in: the same songs
    assert smooth_share(mix, ordered) > smooth_share(mix, given) + 0.2
    total = mix.cost(np.array(ordered[:-1]), np.array(ordered[1:])).sum()
    assert total < mix.cost(np.array(given[:-1]), np.array(given[1:])).sum()


def test_the_relevance_budget() -> None:
    """Of 20 songs asked for, smooth may swap the 4 least relevant for the next 4 songs."""
    mix = Mix.of(songs(60, seed=3))
    ranked = list(range(60))
    picked = arrange(mix, ranked, 20, "smooth")
    assert sequence.swaps(20) == 4 and len(picked) == 20
    assert set(range(16)) <= set(picked) <= set(range(24))
    assert arrange(mix, ranked, 20, "relevance") == list(range(20))


def test_smooth_starts_from_the_song_before() -> None:
    lib = Songs(tempo=[120, 90, 121, 60], key=[0, 3, 0, 6], mode=[1, 1, 1, 0],
                energy=[0.5] * 4, loudness=[-6] * 4)
    assert arrange(Mix.of(lib), [1, 2, 3], 3, "smooth", before=[0])[0] == 2


@pytest.mark.parametrize("order", ["energy-up", "energy-down", "arc"])
def test_energy_orders(order: str) -> None:
    lib = songs(15, seed=5)
    energy = lib.columns["energy"]
    out = energy[arrange(Mix.of(lib), list(range(15)), 15, order)]
    rises = np.diff(out) > 0
    if order == "energy-up":
        assert rises.all()
    elif order == "energy-down":
        assert not rises.any()
    else:
        peak = int(np.argmax(out))
        assert 3 <= peak <= 11 and rises[:peak].all() and not rises[peak:].any()


@pytest.mark.parametrize("order", sequence.ORDERS)
def test_the_artist_window_holds_in_every_order(order: str) -> None:
    artists = np.array([i % 6 for i in range(40)] + [0, 1])  # rows 40, 41: before and after
    lib = songs(42, seed=7)
    out = arrange(Mix.of(lib), list(range(40)), 12, order, before=[40], after=41,
                  artists=artists, gap=3)
    assert len(out) == 12
    sequence_artists = artists[[40, *out, 41]].tolist()
    for i, artist in enumerate(sequence_artists):
        assert artist not in sequence_artists[max(0, i - 3):i], (order, sequence_artists)


def test_a_song_the_window_cannot_place_gives_way() -> None:
    lib = songs(6)
    artists = np.array([5, 5, 5, 6, 7, 8])
    # Relevance keeps the songs found: the third by artist 5 fits nowhere and is left out.
    assert arrange(Mix.of(lib), list(range(6)), 4, "relevance", artists=artists,
                   gap=1) == [0, 3, 1]
    for order in ("energy-up", "smooth"):  # the next song down takes its place
        out = arrange(Mix.of(lib), list(range(6)), 4, order, artists=artists, gap=1)
        assert len(out) == 4 and len(set(out) & {0, 1, 2}) == 2 and 3 in out, order


def test_the_walk_puts_back_what_the_window_held_up() -> None:
    """By energy the two songs of artist 1 would come last, together: one moves up, as
    little out of order as the window allows."""
    lib = Songs(tempo=[120] * 5, key=[0] * 5, mode=[1] * 5, energy=[0.1, 0.2, 0.3, 0.8, 0.9],
                loudness=[-6] * 5)
    out = arrange(Mix.of(lib), [0, 1, 2, 3, 4], 5, "energy-up",
                  artists=np.array([0, 2, 3, 1, 1]), gap=1)
    assert out == [0, 1, 4, 2, 3]


def test_a_library_without_keys_is_ordered_by_what_it_has() -> None:
    lib = songs(30, key=[-1.0] * 30)
    mix = Mix.of(lib)
    assert mix.missing == ("key",)
    assert mix.note("smooth") == KEYLESS_NOTE
    assert mix.note("relevance") is None and mix.note("arc") is None
    ordered = arrange(mix, list(range(30)), 30, "smooth")
    tempo = lib.columns["tempo"]
    assert np.abs(np.diff(tempo[ordered])).mean() < np.abs(np.diff(tempo)).mean()


def test_without_energy_the_energy_orders_keep_the_found_order() -> None:
    lib = songs(10, energy=[float("nan")] * 10)
    mix = Mix.of(lib)
    assert arrange(mix, list(range(10)), 10, "energy-up") == list(range(10))
    assert "no known energy" in (mix.note("arc") or "")
