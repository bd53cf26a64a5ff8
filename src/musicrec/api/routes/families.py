"""The sound families (musicrec extension): `GET /v1/musicrec/families[/{family}]`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from musicrec.api import models
from musicrec.api.deps import (
    ERRORS,
    JSON,
    Lib,
    shapes_for,
)
from musicrec.api.spotify import family_summary

FamilyKey = Annotated[str, Path(description="A sound family id or name.")]

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get("/musicrec/families", response_model=models.FamilyList,
            summary="The sound families (musicrec extension)")
async def families(lib: Lib) -> JSON:
    return JSON({"families": [family_summary(f) for f in lib.families.families]})


@router.get("/musicrec/families/{family}", response_model=models.FamilyProfile,
            summary="One sound family's profile (musicrec extension)")
async def family(request: Request, lib: Lib, family: FamilyKey) -> JSON:
    found = lib.families.by_name_or_id(family)
    neighbours = [lib.families.families[i] for i in found.neighbours]
    return JSON(shapes_for(request, lib).family_profile(found, neighbours,
                                                     lib.tracks(found.central_rows)))
