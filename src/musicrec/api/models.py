"""Response models: they document the API in its OpenAPI schema.

Handlers build plain dicts (see `musicrec.api.spotify`) and send them as JSON without passing
them through these models, which keeps pydantic off the hot path; the tests and the
schema-driven fuzz test check that every answer matches the model it is declared with.
Field names and shapes follow Spotify's Web API reference; fields the catalogue cannot fill
get the neutral values of `musicrec.api.spotify`. The `musicrec` members are there only on
request (`?musicrec=true` or `X-Musicrec: 1`; see `musicrec.api.deps.wants_extensions`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    # additionalProperties: false in the schema, so a field added by mistake fails the fuzz test.
    model_config = ConfigDict(extra="forbid")


class ExternalUrls(_Strict):
    spotify: str | None = Field(None, description="Only for ids from the catalogue (a derived "
                                "id names nothing at Spotify).")


_UNKNOWN = Field(description="Fields holding a neutral stand-in, not catalogue data.")
_EXTENSION = Field(None, description="musicrec's additions: only with `musicrec=true` or the "
                   "header `X-Musicrec: 1` (always from the /v1/musicrec/ endpoints).")


class Unknown(_Strict):
    unknown: list[str] = _UNKNOWN


class SimplifiedArtist(_Strict):
    id: str
    name: str
    uri: str
    href: str
    external_urls: ExternalUrls
    type: Literal["artist"]


class ArtistExtra(_Strict):
    unknown: list[str] = _UNKNOWN
    tracks: int = Field(description="Songs by this artist in the catalogue.")


class Followers(_Strict):
    href: None
    total: int = Field(description="0: no catalogue has followers.")


class Artist(SimplifiedArtist):
    followers: Followers
    genres: list[str] = Field(description="The sound families of the artist's songs.")
    images: list[dict[str, str]]
    popularity: int = Field(description="The highest popularity of its songs (0: unknown).")
    musicrec: ArtistExtra | None = _EXTENSION


class SimplifiedAlbum(_Strict):
    id: str
    name: str
    album_type: Literal["album", "single", "compilation"]
    type: Literal["album"]
    uri: str
    href: str
    external_urls: ExternalUrls
    total_tracks: int = Field(description="Songs of the album in the catalogue.")
    available_markets: list[str]
    release_date: str
    release_date_precision: Literal["year", "month", "day"]
    artists: list[SimplifiedArtist]
    images: list[dict[str, str]]
    musicrec: Unknown | None = _EXTENSION


class FamilyRef(_Strict):
    id: int
    name: str


class SubfamilyRef(_Strict):
    id: str = Field(description='The sub-family\'s key: its family id, a dot, its number '
                                'in the family ("3.2").')
    name: str


class TrackExtra(Unknown):
    family: FamilyRef = Field(description="The song's sound family.")
    subfamily: SubfamilyRef = Field(description="The song's sub-family within it.")


class _TrackBase(_Strict):
    id: str
    name: str
    uri: str
    href: str
    external_urls: ExternalUrls
    type: Literal["track"]
    is_local: Literal[False]
    duration_ms: int
    explicit: bool
    track_number: int
    disc_number: int
    preview_url: None
    artists: list[SimplifiedArtist]


class SimplifiedTrack(_TrackBase):
    musicrec: TrackExtra | None = _EXTENSION


class Track(_TrackBase):
    popularity: int = Field(description="The catalogue's (0: unknown).")
    external_ids: dict[str, str] = Field(description="Empty: no catalogue keeps an ISRC.")
    album: SimplifiedAlbum
    musicrec: TrackExtra | None = _EXTENSION



class RecommendationExtra(TrackExtra):
    score: float = Field(description="Ranking score: similarity less target penalties.")
    similarity: float = Field(description="Cosine similarity to the seed it came from.")
    seed: str = Field(description="Id of the seed this song was found from.")
    explanation: str = Field(description="Why the song was suggested, in words.")


class RecommendedTrack(Track):
    musicrec: RecommendationExtra | None = _EXTENSION  # type: ignore[assignment]


class RecommendationSeed(_Strict):
    initialPoolSize: int
    afterFilteringSize: int
    afterRelinkingSize: int
    id: str
    type: Literal["TRACK", "ARTIST", "GENRE"]
    href: str | None


class Ignored(_Strict):
    ignored: list[str] = Field(description="Knobs accepted and ignored: time_signature on a "
                               "catalogue without time signatures.")


class Recommendations(_Strict):
    tracks: list[RecommendedTrack]
    seeds: list[RecommendationSeed]
    musicrec: Ignored | None = Field(None, description="With `musicrec=true` (or the header "
                                     "`X-Musicrec: 1`), when a knob was ignored.")


class SeveralTracks(_Strict):
    tracks: list[Track | None]


class FeaturesExtra(_Strict):
    unknown: list[str] = _UNKNOWN
    time_signature: int | None = Field(None, description="The catalogue's time signature "
                                       "when it is outside Spotify's 3 to 7.")


class AudioFeatures(_Strict):
    id: str
    uri: str
    track_href: str
    analysis_url: str = Field(description="/v1/audio-analysis/{id}, which answers 404: a "
                              "library has no audio analyses.")
    type: Literal["audio_features"]
    danceability: float
    energy: float
    key: int
    loudness: float
    mode: int
    speechiness: float
    acousticness: float
    instrumentalness: float
    liveness: float
    valence: float
    tempo: float
    duration_ms: int
    time_signature: int
    musicrec: FeaturesExtra | None = _EXTENSION


class SeveralAudioFeatures(_Strict):
    audio_features: list[AudioFeatures | None]


class SeveralArtists(_Strict):
    artists: list[Artist | None]


class _Paging(_Strict):
    href: str
    limit: int
    next: str | None
    offset: int
    previous: str | None
    total: int


class TrackPaging(_Paging):
    items: list[Track]


class ArtistPaging(_Paging):
    items: list[Artist]


class AlbumPaging(_Paging):
    items: list[SimplifiedAlbum]


class AlbumTracks(_Paging):
    items: list[SimplifiedTrack]


class Album(SimplifiedAlbum):
    tracks: AlbumTracks
    copyrights: list[dict[str, str]]
    external_ids: dict[str, str]
    genres: list[str]
    label: str
    popularity: int = Field(description="The highest popularity of its songs (0: unknown).")


class SeveralAlbums(_Strict):
    albums: list[Album | None]


class ArtistAlbum(SimplifiedAlbum):
    album_group: Literal["album", "single", "compilation", "appears_on"]


class ArtistAlbums(_Paging):
    items: list[ArtistAlbum]


class SearchResults(_Strict):
    tracks: TrackPaging | None = None
    artists: ArtistPaging | None = None
    albums: AlbumPaging | None = None


class GenreSeeds(_Strict):
    genres: list[str]


class TopArtist(_Strict):
    name: str
    tracks: int


class FamilyYears(_Strict):
    p10: int = Field(description="10th percentile of known release years (0: none known).")
    median: int
    p90: int


class FamilySummary(_Strict):
    id: int = Field(description="Its number in its level (sub-families: across all families).")
    key: str = Field(description='What to ask for it by: "3" for a family, "3.2" for a '
                                 'sub-family.')
    parent: int | None = Field(description="A sub-family's family; null for a family.")
    name: str
    size: int
    years: FamilyYears
    top_artists: list[TopArtist] = Field(description="Its most frequent artists, shown beside "
                                                     "the name.")
    words: list[dict[str, str | float | int]] = Field(
        description="Each word of the name with its evidence: for a trait, the feature, the "
                    "family's median and rank (mean catalogue percentile of its songs) and the "
                    "catalogue's median; for a genre label, its share; for a decade, the "
                    "median year.")


class FamilySummaryRef(FamilyRef):
    key: str


class FamilyProfile(FamilySummary):
    feature_means: dict[str, float] = Field(description="Mean of each feature in the family.")
    catalogue_means: dict[str, float] = Field(description="Mean over the whole catalogue.")
    neighbours: list[FamilySummaryRef] = Field(
        description="The most similar families of the same level, closest first.")
    subfamilies: list[FamilySummaryRef] = Field(description="A family's sub-families.")
    central_tracks: list[Track] = Field(description="Songs closest to the family's centre.")


class FamilyList(_Strict):
    families: list[FamilySummary]
    subfamilies: list[FamilySummary]


class Health(_Strict):
    status: Literal["ok"]


class ErrorBody(_Strict):
    status: int
    message: str


class Error(_Strict):
    """Spotify's error object, used for every error this API answers."""

    error: ErrorBody



class PromptPart(_Strict):
    text: str = Field(description="The words of the prompt this part is.")
    kind: Literal["seed", "not", "genre", "filter", "target", "word", "title"]
    meaning: str = Field(description="How it was read, e.g. 'lower energy, from 41 playlists'.")
    guessed: bool = Field(description="A name matched loosely: the closest artist or song.")


class PromptInterpretation(_Strict):
    prompt: str
    parts: list[PromptPart]
    unknown: list[str] = Field(description="Words not understood (left out, never an error).")
    summary: str


class PromptExtra(_Strict):
    interpretation: PromptInterpretation


class PromptAnswer(_Strict):
    tracks: list[Track]
    musicrec: PromptExtra
