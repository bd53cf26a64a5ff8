"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis).

For every operation, schemathesis generates requests from the parameter schemas: valid ones
(plus the schema's examples, which are real ids from the catalogue) and invalid ones. Every
answer must be free of server errors, have a status code and a content type that the schema
declares, match the declared body schema (Spotify's error object for errors), and invalid
input must be rejected with a 4xx.

The operations are driven one by one with Hypothesis' `given` rather than schemathesis'
pytest plugin, whose lazy fixture loader does not work with pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from musicrec.api import create_app
from musicrec.api.routes import (
    albums,
    artists,
    families,
    prompt,
    recommendations,
    search,
    tracks,
)
from musicrec.library import Library, LiveLibrary

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, negative_data_rejection]
# Every GET endpoint (the POSTs of the flows and the upload are tested in their own files).
PATHS = ["/health", *(r.path for resource in (recommendations, tracks, artists, albums, search,
                                               families, prompt)
                      for r in resource.router.routes if getattr(r, "include_in_schema", False))]
EXAMPLES_PER_OPERATION = 30


@pytest.fixture(scope="module")
def api_schema(small_library: Library) -> schemathesis.BaseSchema:
    app = create_app(LiveLibrary(small_library.path, warm=True))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_is_fuzzed(api_schema: schemathesis.BaseSchema) -> None:
    """Every GET is fuzzed here; the one upload (POST /v1/musicrec/audio-features) is tested
    with real and broken audio files in tests/test_audio_cli.py."""
    spec = api_schema.raw_schema["paths"]
    gets = [path for path in spec if "get" in spec[path]]
    assert sorted(gets) == sorted(PATHS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("path", PATHS)
def test_no_server_errors_and_no_schema_violations(api_schema: schemathesis.BaseSchema,
                                                   path: str, mode: GenerationMode) -> None:
    operation = api_schema[path]["GET"]
    if mode is GenerationMode.NEGATIVE and not operation.query:
        pytest.skip("no query parameters: a free-text path parameter cannot be made invalid")
    strategy = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.POSITIVE:
        strategy = st.one_of(strategy, *api_schema.get_strategies_from_examples(operation))

    @given(case=strategy)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def check(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    check()
