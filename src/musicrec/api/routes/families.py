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

FamilyKey = Annotated[str, Path(description='A sound family or sub-family: its key ("3", '
                                          '"3.2") or name.')]

router = APIRouter(prefix="/v1", responses=ERRORS)


@router.get("/musicrec/families", response_model=models.FamilyList,
            summary="The sound families (musicrec extension)")
async def families(lib: Lib) -> JSON:
    return JSON({"families": [family_summary(f) for f in lib.families.families],
                 "subfamilies": [family_summary(f) for f in lib.families.subfamilies]})


@router.get("/musicrec/families/{family}", response_model=models.FamilyProfile,
            summary="One sound family's profile (musicrec extension)")
async def family(request: Request, lib: Lib, family: FamilyKey) -> JSON:
    found = lib.families.by_name_or_id(family)
    neighbours, children = lib.families.related(found)
    return JSON(shapes_for(request, lib).family_profile(found, neighbours, children,
                                                     lib.tracks(found.central_rows)))
