"""A REST API compatible with Spotify's retired recommendation endpoints."""

from musicrec.api.app import create_app

__all__ = ["create_app"]
