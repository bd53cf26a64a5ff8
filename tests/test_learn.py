"""learn.py: artist context, related artists, playlist readers, playlist space, cold start."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from musicrec import evaluate as ev
from musicrec import learn
from musicrec.errors import CatalogueError, InvalidQueryError, LibraryError
from musicrec.features import normalize


def catalogue(artists: list[list[str]], albums: list[str | None] | None = None) -> pa.Table:
    n = len(artists)
    cols = {"id": [f"t{i}" for i in range(n)], "artist_ids": artists}
    if albums is not None:
        cols["album_id"] = albums
    return pa.table(cols)


def clustered(rng: np.random.Generator, n_artists: int, per_artist: int, d: int = 8,
              noise: float = 1.5) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Songs scattered widely around their artist's centre: the artist mean finds the centre."""
    centres = rng.normal(size=(n_artists, d)) * 2
    artist = np.repeat(np.arange(n_artists), per_artist)
    x = normalize(centres[artist] + rng.normal(size=(len(artist), d)) * noise * 2)
    table = catalogue([[f"a{a}"] for a in artist])
    return table, x, artist


def test_artist_context_brings_same_artist_songs_together(rng: np.random.Generator) -> None:
    table, x, artist = clustered(rng, 40, 6)
    cfg = learn.ContextConfig(artist_weight=2.0, artist_space="features", artist_scale={})
    with_context = learn.context_vectors(table, x, cfg)
    assert with_context.shape == (len(x), 16) and with_context.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(with_context, axis=1), 1, rtol=1e-5)

    def same_artist_share(v: np.ndarray) -> float:
        sims = v @ v.T
        np.fill_diagonal(sims, -np.inf)
        top = np.argsort(-sims, axis=1)[:, :5]
        return float((artist[top] == artist[:, None]).mean())

    assert same_artist_share(with_context) > same_artist_share(x) + 0.2


def test_artist_mean_over_every_credit_or_the_first(rng: np.random.Generator) -> None:
    x = normalize(rng.normal(size=(3, 4)).astype(np.float32))
    table = catalogue([["a"], ["b"], ["a", "b"]])
    groups = learn.Groups.from_table(table)
    assert groups.n_artists == 2 and groups.primary.tolist() == [0, 1, 0]
    mean_cfg = learn.ContextConfig(artists="mean", artist_scale={})
    part, _, means = learn.song_context(x, groups, mean_cfg)
    np.testing.assert_allclose(means[0], (x[0] + x[2]) / 2, rtol=1e-5)
    np.testing.assert_allclose(part[2], (means[0] + means[1]) / 2, rtol=1e-5)
    primary, _, _ = learn.song_context(x, groups, mean_cfg.model_copy(
        update={"artists": "primary"}))
    np.testing.assert_allclose(primary[2], (x[0] + x[2]) / 2, rtol=1e-5)


def test_one_song_artists_shrink_towards_the_song(rng: np.random.Generator) -> None:
    x = normalize(rng.normal(size=(4, 5)).astype(np.float32))
    table = catalogue([["solo"], ["band"], ["band"], ["band"]])
    groups = learn.Groups.from_table(table)
    to_self = learn.ContextConfig(shrinkage=2.0, prior="self", artist_scale={})
    part, _, _ = learn.song_context(x, groups, to_self)
    np.testing.assert_allclose(part[0], x[0], rtol=1e-5)  # a lone song is its own context
    band = x[1:].sum(axis=0)
    np.testing.assert_allclose(part[1], (band + 2 * x[1]) / 5, rtol=1e-5)
    to_global = to_self.model_copy(update={"prior": "global"})
    part, _, _ = learn.song_context(x, groups, to_global)
    np.testing.assert_allclose(part[0], (x[0] + 2 * x.mean(axis=0)) / 3, rtol=1e-5)


def test_album_context_and_unknown_albums(rng: np.random.Generator) -> None:
    x = normalize(rng.normal(size=(4, 3)).astype(np.float32))
    table = catalogue([["a"], ["b"], ["c"], ["d"]], ["al1", "al1", None, ""])
    cfg = learn.ContextConfig(artist_weight=0.0, album_weight=1.0, artist_scale={})
    _, album, _ = learn.song_context(x, learn.Groups.from_table(table), cfg)
    assert album is not None
    np.testing.assert_allclose(album[0], (x[0] + x[1]) / 2, rtol=1e-5)
    np.testing.assert_allclose(album[2:], x[2:], rtol=1e-5)  # no album: the song itself
    assert learn.context_vectors(table, x, cfg).shape == (4, 6)


def test_context_checks_its_inputs(rng: np.random.Generator) -> None:
    table = catalogue([["a"], ["b"]])
    with pytest.raises(LibraryError, match="expected \\(2, d\\)"):
        learn.context_vectors(table, np.zeros((3, 4), np.float32))
    with pytest.raises(LibraryError, match="base_dims"):
        learn.context_vectors(table, np.ones((2, 2), np.float32),
                              learn.ContextConfig(artist_scale={"tempo": 2.0}))
    with pytest.raises(ValueError, match="extra"):
        learn.ContextConfig(artist_wieght=1.0)  # type: ignore[call-arg]


def test_related_artists_known_answer() -> None:
    v = normalize(np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.5, 0.5, 0]], np.float32))
    rows, sims = learn.related_artists(v, 0, k=2)
    assert rows.tolist() == [1, 3] and sims[0] > sims[1]
    rows, _ = learn.related_artists(v, 2, k=10)
    assert rows.tolist() == [3, 1, 0]  # never itself, at most m - 1
    rows, _ = learn.related_artists(v, 0, k=3, eligible=np.array([True, False, True, True]))
    assert rows.tolist() == [3, 2]
    with pytest.raises(InvalidQueryError, match="out of range"):
        learn.related_artists(v, 4)


def test_build_context_returns_artist_matrix_in_library_order(rng: np.random.Generator) -> None:
    table, x, _ = clustered(rng, 5, 3, d=4)
    ctx = learn.build_context(table, x, learn.ContextConfig(artist_space="features",
                                                            artist_scale={}))
    assert ctx.artist_vectors.shape == (5, 4) and len(ctx.dims) == 8
    np.testing.assert_allclose(ctx.artist_vectors[0], normalize(x[:3].mean(0, keepdims=True))[0],
                               rtol=1e-5)


# ---- playlist readers ----------------------------------------------------------------------

IDS = np.array(["A", "B", "C", "D"], dtype=object)


def mpd_slice(playlists: list[tuple[int, list[str]]]) -> dict[str, object]:
    return {"info": {"slice": "test"}, "playlists": [
        {"pid": pid, "name": f"p{pid}", "tracks": [
            {"track_uri": f"spotify:track:{t}", "artist_name": "x", "track_name": "y"}
            for t in tracks]} for pid, tracks in playlists]}


def test_reads_mpd_json_gz_and_folders(tmp_path: Path) -> None:
    data = mpd_slice([(1, ["A", "B", "ZZ"]), (2, ["C", "A", "C"]), (3, ["QQ"])])
    (tmp_path / "s.json").write_text(json.dumps(data))
    with gzip.open(tmp_path / "s2.json.gz", "wt") as f:
        json.dump(mpd_slice([(9, ["D", "B"])]), f)
    one = learn.read_playlists(tmp_path / "s.json", IDS)
    # Playlist 3 holds no catalogue song: left out; its track and ZZ are counted as unknown.
    assert one.pids.tolist() == ["1", "2"] and one.unknown == 2 and one.entries == 7
    assert one.matrix.toarray().tolist() == [[1, 1, 0, 0], [1, 0, 1, 0]]  # C counted once
    assert one.extra is not None and one.extra.shape == (2, 1)  # ZZ, in playlist 1
    both = learn.read_playlists(tmp_path, IDS)
    assert both.files == 2 and len(both) == 3 and both.summary()["songs_in_playlists"] == 4


def test_reads_csv_with_ids_or_uris(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("pid,pos,track_uri\n1,0,spotify:track:A\n1,1,B\n2,0,nope\n2,1,D\n")
    p = learn.read_playlists(path, IDS)
    assert p.matrix.toarray().tolist() == [[1, 1, 0, 0], [0, 0, 0, 1]] and p.unknown == 1
    other = tmp_path / "q.csv"
    other.write_text("playlist_id,track_id\nx,C\nx,A\n")
    assert learn.read_playlists(other, IDS).matrix.toarray().tolist() == [[1, 0, 1, 0]]


@pytest.mark.parametrize(("name", "text", "match"), [
    ("bad.json", "{not json", "cannot read playlists"),
    ("list.json", "[1, 2]", "not an MPD slice"),
    ("nopid.json", '{"playlists": [{"tracks": []}]}', "no 'pid'"),
    ("notrack.json", '{"playlists": [{"pid": 1, "tracks": [{"x": 1}]}]}', "without 'track_uri'"),
    ("cols.csv", "a,b\n1,2\n", "no playlist id column"),
])
def test_malformed_playlist_files_fail_clearly(tmp_path: Path, name: str, text: str,
                                               match: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(CatalogueError, match=match):
        learn.read_playlists(path, IDS)


def test_missing_playlist_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="no such playlist"):
        learn.read_playlists(tmp_path / "nothing.json", IDS)
    with pytest.raises(CatalogueError, match="no .json"):
        learn.read_playlists(tmp_path, IDS)


# ---- playlist space and cold start ---------------------------------------------------------


def planted(rng: np.random.Generator, n_groups: int = 8, per_group: int = 30,
            n_playlists: int = 400, d: int = 6) -> tuple[learn.Playlists, np.ndarray, np.ndarray]:
    """Songs in groups; playlists draw from one group; content is a noisy view of the group."""
    n = n_groups * per_group
    group = np.repeat(np.arange(n_groups), per_group)
    rows, cols = [], []
    for p in range(n_playlists):
        g = rng.integers(n_groups)
        songs = rng.choice(np.flatnonzero(group == g), size=8, replace=False)
        rows += [p] * len(songs)
        cols += songs.tolist()
    matrix = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                           shape=(n_playlists, n), dtype=np.float32)
    matrix.data[:] = 1
    centres = rng.normal(size=(n_groups, d)) * 2
    content = normalize(centres[group] + rng.normal(size=(n, d)))
    pl = learn.Playlists(matrix, np.arange(n_playlists).astype(str), int(matrix.nnz), 0, 1)
    return pl, content, group


def group_precision(v: np.ndarray, group: np.ndarray, rows: np.ndarray) -> float:
    sims = v[rows] @ v.T
    sims[np.arange(len(rows)), rows] = -np.inf
    top = np.argsort(-sims, axis=1)[:, :5]
    return float((group[top] == group[rows, None]).mean())


@pytest.mark.parametrize("method", ["als", "cooc"])
def test_playlist_space_recovers_planted_groups(rng: np.random.Generator, method: str) -> None:
    pl, _, group = planted(rng)
    space = learn.fit_playlists(pl, learn.PlaylistConfig(method=method, dims=8))
    assert space.vectors.shape == (len(group), 8) and space.seen.all()
    assert group_precision(space.vectors, group, np.arange(len(group))) > 0.9


def test_cold_start_mapping_beats_random(rng: np.random.Generator) -> None:
    pl, content, group = planted(rng)
    n = len(group)
    cold = rng.choice(n, size=n // 4, replace=False)
    keep = np.setdiff1d(np.arange(n), cold)
    warm = pl.matrix[:, keep]
    train = sp.csr_matrix((warm.data, (warm.nonzero()[0], keep[warm.nonzero()[1]])),
                          shape=pl.matrix.shape)
    train_pl = learn.Playlists(train, pl.pids, 0, 0, 1)
    config = learn.PlaylistConfig(dims=8)
    vectors, space, mapping = learn.learned_vectors(content, train_pl, config)
    assert not space.seen[cold].any()
    part = learn.playlist_part(content, space, mapping)
    mapped = group_precision(part, group, cold)
    random_part = normalize(rng.normal(size=part.shape).astype(np.float32))
    assert mapped > 0.8 > group_precision(random_part, group, cold) + 0.5
    assert vectors.shape == (n, content.shape[1] + 8 + 1)  # + the popularity dimension
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1, rtol=1e-5)


def test_too_few_songs_to_learn(rng: np.random.Generator) -> None:
    m = sp.csr_matrix(np.array([[1, 1, 0]], np.float32))
    with pytest.raises(InvalidQueryError, match="too few"):
        learn.fit_playlists(learn.Playlists(m, np.array(["1"]), 2, 0, 1))


def test_playlist_evaluation_known_answer() -> None:
    # Songs 0-3; held-out playlist 0 = {0, 1}, playlist 1 = {2, 3}. Vectors put 0 next to 1 and
    # 2 next to 0: seeds 0 and 1 hit, seeds 2 and 3 miss (2's nearest is 0, 3's is 1).
    test = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 1, 1]], np.float32))
    v = normalize(np.array([[1, 0.1], [1, 0.2], [1, 0.0], [1, 0.25]], np.float32))
    counts = np.array([1, 1, 0, 1])
    ps = ev.playlist_seeds(test, counts, lambda s: [np.array([x]) for x in s], per_playlist=2)
    assert sorted(ps.seeds.tolist()) == [0, 1, 2, 3] and ps.cold.sum() == 1
    m = ev.evaluate_playlists({"v": v}, ps, test, k=1)["v"]
    by_seed = dict(zip(ps.seeds.tolist(), ev.exact_top_k_excluding(
        v, ps.seeds, ps.excluded, 1)[:, 0].tolist(), strict=True))
    expected = np.mean([by_seed[s] in ({0, 1} if s < 2 else {2, 3}) for s in range(4)])
    assert m["all hit@1"] == pytest.approx(expected)
    assert m["cold seeds"] == 1


def test_split_playlists_is_disjoint_and_seeded() -> None:
    m = sp.csr_matrix(np.eye(10, dtype=np.float32))
    a1, b1 = ev.split_playlists(m, 0.3, 0)
    a2, b2 = ev.split_playlists(m, 0.3, 0)
    assert len(b1) == 3 and not set(a1) & set(b1) and a1.tolist() == a2.tolist()


# ---- real data -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mpd(mpd_sample: Path) -> Path:
    return mpd_sample


@pytest.mark.realdata
def test_reads_the_mpd_sample_both_ways(mpd: Path, real_30k: Path) -> None:
    from musicrec.catalogue import read_catalogue

    ids = read_catalogue(real_30k).table.column("id").to_numpy(zero_copy_only=False)
    from_json = learn.read_playlists(mpd / "json", ids)
    assert from_json.files == 3 and from_json.unknown > 0
    from_csv = learn.read_playlists(mpd / "playlists.csv.gz", ids)
    # The README: 4,980 of the 30k songs appear, in 66,366 playlist rows.
    assert from_csv.summary()["songs_in_playlists"] == 4980
    assert from_csv.entries - from_csv.unknown == 66366


def test_learned_artefacts_round_trip_and_damage(tmp_path: Path, rng: np.random.Generator
                                                 ) -> None:
    table, x, _ = clustered(rng, 4, 3, d=4)
    cfg = learn.ContextConfig(artist_space="features", artist_scale={})
    ctx = learn.build_context(table, x, cfg)
    learn.save_learned(tmp_path, ctx, cfg, 8)
    plain = learn.load_learned(tmp_path)
    assert plain.artist_vectors.shape == (4, 4) and plain.mapping is None
    counts = np.array([1, 0] * 6, np.int32)
    space = learn.PlaylistSpace(normalize(rng.normal(size=(12, 3)).astype(np.float32)) *
                                counts[:, None], counts)
    mapping = learn.ColdStartMap(np.eye(8, 3, dtype=np.float32), np.zeros(3, np.float32),
                                 np.zeros(3, np.float32), np.ones(3, np.float32))
    pl = learn.Playlists(sp.csr_matrix((2, 12), dtype=np.float32), np.array(["1", "2"]), 0, 0,
                         1)
    entry = learn.save_learned(tmp_path, ctx, cfg, 8, pl, space, mapping,
                               learn.PlaylistConfig())
    got = learn.load_learned(tmp_path)
    assert got.entry == json.loads(json.dumps(entry))
    assert got.mapping is not None and got.mapping.coef.shape == (8, 3)
    assert got.artist_playlist is not None and got.artist_playlist.shape == (4, 3)
    assert got.playlist_counts is not None and got.playlist_counts.tolist() == counts.tolist()
    (tmp_path / learn.LEARN_MANIFEST).write_text('{"format": 99}')
    with pytest.raises(LibraryError, match="format 99"):
        learn.load_learned(tmp_path)
    (tmp_path / learn.LEARN_MANIFEST).write_text(json.dumps(entry))
    (tmp_path / learn.ARTIST_VECTORS).write_bytes(b"not numpy")
    with pytest.raises(LibraryError, match="damaged"):
        learn.load_learned(tmp_path)


def test_similarity_parts_sum_to_the_cosine(rng: np.random.Generator) -> None:
    v = normalize(rng.normal(size=(2, 6)).astype(np.float32))
    content, playlist = learn.similarity_parts(v[0], v[1], 4)
    assert content + playlist == pytest.approx(float(v[0] @ v[1]), abs=1e-6)


def test_cold_seeds_query_with_their_artists_playlist_vector() -> None:
    # Songs 0, 1 by artist a (0 in playlists), 2 by b (in playlists), 3 by c (never).
    table = catalogue([["a"], ["a"], ["b"], ["c"]])
    groups = learn.Groups.from_table(table)
    pl = np.array([[1, 0], [0.6, 0.8], [0, 1], [0.6, 0.8]], np.float32)
    space = learn.PlaylistSpace(normalize(pl * np.array([[1], [0], [1], [0]], np.float32)),
                                np.array([2, 0, 1, 0], np.int32))
    content = normalize(np.array([[1, 0], [0, 1], [1, 1], [1, -1]], np.float32))
    v = learn.blend(content, pl, 1.0)
    q = learn.query_vectors(v, space, groups, n_content=2, weight=1.0)
    np.testing.assert_allclose(q[0], v[0])  # in playlists: as stored
    # Song 1: its own content, its artist's playlist vector (song 0's, [1, 0]).
    np.testing.assert_allclose(q[1], normalize(np.array([[0, 1, 1, 0]], np.float32))[0],
                               atol=1e-6)
    np.testing.assert_allclose(q[3], [*content[3], 0, 0], atol=1e-6)  # no artist in playlists
    one = learn.cold_query(v[1], 2, learn.artist_playlist_vectors(groups, space)[[0]], 1.0)
    np.testing.assert_allclose(one, q[1], atol=1e-6)


def test_popularity_column_scales_log_counts_and_gives_cold_songs_the_mean() -> None:
    counts = np.array([0, 1, 3, 0], np.int32)
    column = learn.popularity_column(counts, 2.0)
    warm = 2.0 * np.log1p([1.0, 3.0]) / np.log1p(3.0)
    np.testing.assert_allclose(column[:, 0], [warm.mean(), warm[0], 2.0, warm.mean()],
                               rtol=1e-6)
    assert learn.popularity_column(counts, 0.0).shape == (4, 0)
    assert learn.popularity_column(np.zeros(3, np.int32), 2.0).shape == (3, 0)


def test_cold_query_keeps_the_popularity_dimension() -> None:
    table = catalogue([["a"], ["a"], ["b"], ["c"]])
    groups = learn.Groups.from_table(table)
    pl = np.array([[1, 0], [0.6, 0.8], [0, 1], [0.6, 0.8]], np.float32)
    counts = np.array([2, 0, 1, 0], np.int32)
    space = learn.PlaylistSpace(normalize(pl * (counts > 0)[:, None]), counts)
    content = normalize(np.array([[1, 0], [0, 1], [1, 1], [1, -1]], np.float32))
    popularity = learn.popularity_column(counts, 1.0)
    v = learn.blend(content, pl, 1.0, popularity)
    assert v.shape == (4, 5)
    q = learn.query_vectors(v, space, groups, n_content=2, weight=1.0)
    np.testing.assert_allclose(q[[0, 2]], v[[0, 2]])
    # Song 1: content, its artist's playlist vector ([1, 0]) and its stored popularity.
    expected = normalize(np.array([[0, 1, 1, 0, popularity[1, 0]]], np.float32))[0]
    np.testing.assert_allclose(q[1], expected, atol=1e-6)
    one = learn.cold_query(v[1], 2, learn.artist_playlist_vectors(groups, space)[[0]], 1.0)
    np.testing.assert_allclose(one, q[1], atol=1e-6)


def test_any_playlist_hits_count_every_held_out_co_occurrence() -> None:
    # Held-out playlists {0, 1} and {1, 2}. Seed 0 drawn from playlist 0, its top 1 is song 2:
    # not in its own playlist, and 0 and 2 share no playlist; seed 1 drawn from playlist 0,
    # top 1 is song 2: a miss in its own playlist, a hit in playlist 1.
    test = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], np.float32))
    ps = ev.PlaylistSeeds(np.array([0, 1]), np.array([0, 0]),
                          [np.array([0]), np.array([1])], np.array([False, True]))
    m = ev.score_playlist_lists(ps, test, np.array([[2], [2]]))
    assert m["all hit@1"] == 0 and m["all any-playlist hit@1"] == 0.5
    assert m["cold any-playlist hit@1"] == 1.0 and m["cold any-playlist P@1"] == 1.0
    m = ev.score_playlist_lists(ps, test, np.array([[1], [0]]))
    assert m["all hit@1"] == 1.0 and m["all any-playlist hit@1"] == 1.0


def test_validation_split_never_touches_the_held_out_playlists() -> None:
    m = sp.csr_matrix(np.eye(50, 60, dtype=np.float32))
    pl = learn.Playlists(m, np.arange(50).astype(str), 50, 0, 1)
    _, held_out, _ = ev.playlist_split(pl, 0, 0.1, 0.2)
    train, valid, _ = ev.playlist_split(pl, 0, 0.1, 0.2, validation=True)
    held = set(held_out.pids)
    assert len(held) == 10 and not held & set(valid.pids) and not held & set(train.pids)
    assert len(valid) == 8 and len(train) == 32 and not set(train.pids) & set(valid.pids)


@pytest.mark.realdata
def test_artist_context_meets_the_label_targets(real_30k: Path) -> None:
    """The issue's targets on the standard 2,000 seeds, seed's artist and album excluded."""
    from musicrec.catalogue import read_catalogue
    from musicrec.features import FeaturePipeline

    table = read_catalogue(real_30k).table
    pipeline = FeaturePipeline.fit(table)
    vectors = learn.context_vectors(table, pipeline.transform(table), learn.ContextConfig(),
                                    pipeline.dims)
    assert vectors.shape[1] <= 48
    ids = table.column("id").to_numpy(zero_copy_only=False)
    truths = [t for t in ev.read_truth_for_ids(ids, real_30k, ["genre", "subgenre"])
              if t.name in ("genre", "subgenre")]
    seeds = ev.sample_seeds(truths, len(ids), ev.DEFAULT_SEEDS, 0)
    recs = ev.exact_top_k_excluding(vectors, seeds, ev.table_exclusions(table, seeds), 10)
    genre, subgenre = (float(t.hits(seeds, recs).mean()) for t in truths)
    assert genre >= 0.55 and subgenre >= 0.30, (genre, subgenre)
