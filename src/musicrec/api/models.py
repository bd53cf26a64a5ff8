"""Response models: they document the API in its OpenAPI schema.

Handlers build plain dicts (see `musicrec.api.spotify`) and send them as JSON without passing
them through these models, which keeps pydantic off the hot path; the tests and the
schema-driven fuzz test check that every answer matches the model it is declared with.
Field names and shapes follow Spotify's Web API reference; fields the catalogue cannot fill
are null rather than invented.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    # additionalProperties: false in the schema, so a field added by mistake fails the fuzz test.
    model_config = ConfigDict(extra="forbid")


class ExternalUrls(_Strict):
    spotify: str


class SimplifiedArtist(_Strict):
    id: str
    name: str
    uri: str
    href: str
    external_urls: ExternalUrls
    type: Literal["artist"]


class ArtistExtra(_Strict):
    tracks: int = Field(description="Songs by this artist in the catalogue.")

class Artist(SimplifiedArtist):
    genres: list[str] = Field(description="The sound families of the artist's songs.")
    images: list[dict[str, str]]
    musicrec: ArtistExtra



class SimplifiedAlbum(_Strict):
    id: str | None
    name: str | None
    album_type: Literal["album"]
    type: Literal["album"]
    uri: str | None
    href: str | None
    external_urls: ExternalUrls | None
    release_date: str | None
    release_date_precision: Literal["year", "month", "day"] | None
    artists: list[SimplifiedArtist]
    images: list[dict[str, str]]


class Track(_Strict):
    id: str
    name: str
    uri: str
    href: str
    external_urls: ExternalUrls
    type: Literal["track"]
    is_local: Literal[False]
    duration_ms: int
    explicit: bool
    track_number: int | None
    disc_number: int | None
    popularity: int | None = Field(
        None, description="Present only when the catalogue has popularity data.")
    preview_url: None
    album: SimplifiedAlbum
    artists: list[SimplifiedArtist]


class FamilyRef(_Strict):
    id: int
    name: str

class RecommendationExtra(_Strict):
    score: float = Field(description="Ranking score: similarity less target penalties.")
    similarity: float = Field(description="Cosine similarity to the seed it came from.")
    seed: str = Field(description="Id of the seed this song was found from.")
    explanation: str = Field(description="Why the song was suggested, in words.")
    family: FamilyRef



class RecommendedTrack(Track):
    musicrec: RecommendationExtra


class RecommendationSeed(_Strict):
    initialPoolSize: int
    afterFilteringSize: int
    afterRelinkingSize: int
    id: str
    type: Literal["TRACK", "ARTIST", "GENRE"]
    href: str | None


class Recommendations(_Strict):
    tracks: list[RecommendedTrack]
    seeds: list[RecommendationSeed]


class SeveralTracks(_Strict):
    tracks: list[Track | None]


class AudioFeatures(_Strict):
    id: str
    uri: str
    track_href: str
    analysis_url: str
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
    time_signature: int | None


class SeveralAudioFeatures(_Strict):
    audio_features: list[AudioFeatures | None]


class _Paging(_Strict):
    href: str
    limit: int
    next: str | None
    offset: int
    previous: str | None
    total: int = Field(description="Matches, counted up to the deepest page that can be asked "
                                   "for (offset + limit at most 1050).")


class TrackPaging(_Paging):
    items: list[Track]


class ArtistPaging(_Paging):
    items: list[Artist]


class SearchResults(_Strict):
    tracks: TrackPaging | None = None
    artists: ArtistPaging | None = None


class GenreSeeds(_Strict):
    genres: list[str]


class FamilyYears(_Strict):
    p10: int = Field(description="10th percentile of known release years (0: none known).")
    median: int
    p90: int

class FamilySummary(_Strict):
    id: int
    name: str
    size: int
    years: FamilyYears



class TopArtist(_Strict):
    name: str
    tracks: int


class FamilyProfile(FamilySummary):
    feature_means: dict[str, float] = Field(description="Mean of each feature in the family.")
    catalogue_means: dict[str, float] = Field(description="Mean over the whole catalogue.")
    top_artists: list[TopArtist]
    neighbours: list[FamilyRef] = Field(description="The most similar families, closest first.")
    central_tracks: list[Track] = Field(description="Songs closest to the family's centre.")


class FamilyList(_Strict):
    families: list[FamilySummary]


class Health(_Strict):
    status: Literal["ok"]
    songs: int
    families: int
    musicrec_version: str


class ErrorBody(_Strict):
    status: int
    message: str


class Error(_Strict):
    """Spotify's error object, used for every error this API answers."""

    error: ErrorBody

