"""A Milvus collection behind the `VectorIndex` interface: serving beyond one machine's memory.

The library keeps its vectors (memory-mapped, as with every backend); the collection holds a
copy of them, one entity per song (`row` INT64 primary key = the song's row, `vec`
FLOAT_VECTOR, an HNSW index with inner product), with the columns a request can filter on as
scalar fields (`musicrec.filters.scalar_columns`: the tunable audio features, year,
popularity, explicit as nullable FLOAT, null where unknown; the sound family as INT32). Two
places for it:

* Milvus Lite (the `milvus-lite` package): a data folder inside the library, `index.milvus.db`,
  opened in-process. For tests and single-machine use; one process at a time holds its lock.
* A Milvus server or cluster by URI (`--milvus-uri http://host:19530`), with a token read from
  a file (`--milvus-token-file`). The manifest records the URI, the collection and the token
  file's path, never the token. Any number of API processes can share the collection.

Filtered search picks its method by how many rows the mask allows, as `HNSWIndex` does: up to
`exact_below` rows (`musicrec.index.EXACT_BELOW`) are scanned exactly over the library's own
vectors (0.1-5 ms in process for up to 93,000 of 100,000 rows, where a filtered Milvus Lite
query took 75-150 ms over gRPC: benchmarks/milvus_filters.py); above it the request's filters
(`where`, which the recommender passes beside the mask) become a filter expression on the
scalar fields, `tempo >= 100.0 and tempo <= 130.0 and family in [3, 5]`, and the engine
filters inside its search. A mask that comes without a `where` the fields can answer (the
generic contract, or a collection built before the fields existed) is scanned exactly: sending
its rows as a `row in [...]` list costs megabytes of expression at scale. Any query that comes
back short of min(k, allowed) results is answered exactly. Milvus Lite is for tests and
single-process use; serving at scale is a Milvus server.

pymilvus is imported only when a Milvus index is built or opened (`pip install musicrec[milvus]`).
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from musicrec.errors import LibraryError
from musicrec.index import EXACT_BELOW, VectorIndex, exact_top_k

# pymilvus takes a local path as Milvus Lite only when it ends in ".db".
LITE_DIR = "index.milvus.db"
# Entities per insert call: 5,000 x 16 floats is well under gRPC's 64 MB message limit.
INSERT_BATCH = 5_000
# A Milvus search returns at most 16,384 results per query (more are answered exactly), and
# its beam (ef) is kept at most as wide.
# A filtered search's beam is at least this many times k wide (HNSWIndex's retry width).
FILTERED_EF_FACTOR = 16
MAX_TOPK = 16_384


def _milvus() -> Any:
    try:
        import pymilvus
    except ImportError as exc:
        raise LibraryError("this library's index is in Milvus, and pymilvus is not installed: "
                           "pip install 'musicrec[milvus]'") from exc
    return pymilvus


def read_token(token_file: str | None) -> str:
    """The token in `token_file` (surrounding whitespace removed); "" without a file."""
    if not token_file:
        return ""
    try:
        return Path(token_file).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise LibraryError(f"cannot read the Milvus token file {token_file}: "
                           f"{exc.strerror or exc}") from exc


class MilvusIndex(VectorIndex):
    """Top-k search in a Milvus collection; see the module docstring for where it lives."""

    kind = "milvus"

    def __init__(self, vectors: np.ndarray, collection: str, *, uri: str | None = None,
                 lite_path: Path | None = None, token_file: str | None = None,
                 scalars: tuple[str, ...] = (), m: int = 16, ef_construction: int = 40,
                 ef_search: int = 64, exact_below: int = EXACT_BELOW):
        super().__init__(vectors)
        if (uri is None) == (lite_path is None):
            raise ValueError("give exactly one of uri (a server) or lite_path (Milvus Lite)")
        self.collection = collection
        self.uri = uri
        self.lite_path = lite_path
        self.token_file = token_file
        self.scalars = scalars  # the scalar fields a `where` may name
        self.m, self.ef_construction, self.ef_search = m, ef_construction, ef_search
        self.exact_below = exact_below
        self._client: Any = None
        self._loaded = False  # the collection is loaded for search on this connection

    # --- connection ------------------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The pymilvus client, connected on first use (and again after `close`)."""
        if self._client is None:
            pymilvus = _milvus()
            target = str(self.lite_path) if self.lite_path is not None else self.uri
            try:
                self._client = pymilvus.MilvusClient(uri=target,
                                                     token=read_token(self.token_file))
            except pymilvus.MilvusException as exc:
                hint = ("; a Milvus Lite folder opens in one process at a time: serve with "
                        "one worker, or build with --milvus-uri for several"
                        if self.lite_path is not None else "")
                raise LibraryError(f"cannot connect to Milvus at {target}: "
                                   f"{exc.message}{hint}") from exc
        return self._client

    def close(self) -> None:
        """Disconnect; for Milvus Lite also stop its in-process server, so that the data
        folder is complete on disk and may be moved (a build renames it into place)."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self._loaded = False
        if self.lite_path is not None:
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self.lite_path))

    # --- build, save, load -----------------------------------------------------------------

    @classmethod
    def build(cls, vectors: np.ndarray, *, scalars: Mapping[str, np.ndarray] | None = None,
              folder: Path | None = None, uri: str | None = None, token_file: str | None = None,
              collection: str | None = None, m: int = 16, ef_construction: int = 40,
              ef_search: int = 64) -> MilvusIndex:
        """Create a collection holding `vectors` (float32 (n, d) unit rows) and index it.

        `scalars` are columns of n values each, by field name, for filter expressions:
        integer arrays become INT32 fields, float arrays nullable FLOAT fields with NaN
        stored as null (which fails every comparison, as NaN fails the mask's).

        Without `uri`, a Milvus Lite data folder is made in `folder` (a temporary folder if
        None; `save` copies it into the library). With `uri`, a new collection on that server
        (named `musicrec_<time>_<random>` unless given: a rebuild never overwrites the
        collection a running server reads; drop old ones with the Milvus tools).
        """
        pymilvus = _milvus()
        scalars = dict(scalars or {})
        for name, values in scalars.items():
            if np.shape(values) != (len(vectors),):
                raise ValueError(f"scalar column {name} has shape {np.shape(values)}, "
                                 f"expected ({len(vectors)},)")
        common = {"scalars": tuple(scalars), "m": m, "ef_construction": ef_construction,
                  "ef_search": ef_search}
        if uri is None:
            base = Path(folder) if folder is not None else Path(tempfile.mkdtemp("-milvus"))
            base.mkdir(parents=True, exist_ok=True)
            index = cls(vectors, collection or "musicrec", lite_path=base / LITE_DIR, **common)
        else:
            name = collection or f"musicrec_{uuid.uuid1().hex[:12]}_{uuid.uuid4().hex[:8]}"
            index = cls(vectors, name, uri=uri, token_file=token_file, **common)
        client = index.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", pymilvus.DataType.INT64, is_primary=True)
        schema.add_field("vec", pymilvus.DataType.FLOAT_VECTOR, dim=int(vectors.shape[1]))
        for name, values in scalars.items():
            if np.issubdtype(np.asarray(values).dtype, np.integer):
                schema.add_field(name, pymilvus.DataType.INT32)
            else:
                schema.add_field(name, pymilvus.DataType.FLOAT, nullable=True)
        params = client.prepare_index_params()
        params.add_index(field_name="vec", index_type="HNSW", metric_type="IP",
                         params={"M": m, "efConstruction": ef_construction})
        if client.has_collection(index.collection):
            raise LibraryError(f"Milvus collection {index.collection} exists already; "
                               "choose another name")
        client.create_collection(index.collection, schema=schema, index_params=params)
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        for start in range(0, len(x), INSERT_BATCH):
            stop = min(start + INSERT_BATCH, len(x))
            columns = {name: _field_values(values[start:stop])
                       for name, values in scalars.items()}
            client.insert(index.collection, [
                {"row": i, "vec": x[i], **{name: col[i - start] for name, col in columns.items()}}
                for i in range(start, stop)])
        client.flush(index.collection)
        return index

    def update_scalar(self, name: str, values: np.ndarray) -> None:
        """Rewrite one scalar field of every song in place (the families after they are
        re-clustered), by partial upserts."""
        if name not in self.scalars:
            raise LibraryError(f"Milvus collection {self.collection} has no field {name}")
        for start in range(0, len(values), INSERT_BATCH):
            column = _field_values(values[start:start + INSERT_BATCH])
            self.client.upsert(self.collection, [{"row": start + i, name: v}
                                                 for i, v in enumerate(column)],
                               partial_update=True)
        self.client.flush(self.collection)

    def save(self, folder: Path) -> dict[str, Any]:
        params: dict[str, Any] = {"kind": self.kind, "collection": self.collection,
                                  "rows": len(self), "scalars": list(self.scalars), "m": self.m,
                                  "ef_construction": self.ef_construction,
                                  "ef_search": self.ef_search}
        if self.uri is not None:
            return {**params, "uri": self.uri, "token_file": self.token_file}
        target = Path(folder) / LITE_DIR
        self.close()
        assert self.lite_path is not None
        if self.lite_path.resolve() != target.resolve():
            shutil.copytree(self.lite_path, target)
        return {**params, "uri": None, "lite": LITE_DIR}

    @classmethod
    def load(cls, folder: Path, vectors: np.ndarray, params: dict[str, Any]) -> MilvusIndex:
        """Open the collection a manifest names; its row count must match the vectors."""
        try:
            common = {"m": int(params["m"]), "ef_construction": int(params["ef_construction"]),
                      "ef_search": int(params["ef_search"]),
                      # A collection built before the fields existed: masks are scanned.
                      "scalars": tuple(str(f) for f in params.get("scalars", ()))}
            collection, rows = str(params["collection"]), int(params["rows"])
            if params.get("uri"):
                index = cls(vectors, collection, uri=str(params["uri"]),
                            token_file=params.get("token_file"), **common)
            else:
                path = Path(folder) / str(params["lite"])
                if not path.is_dir():
                    raise LibraryError(f"Milvus Lite data missing: {path}; rebuild the library")
                index = cls(vectors, collection, lite_path=path, **common)
        except (KeyError, TypeError, ValueError) as exc:
            raise LibraryError(f"the manifest's Milvus index entry is incomplete ({exc}); "
                               "rebuild the library") from exc
        where = index.uri or index.lite_path
        try:
            exists = index.client.has_collection(collection)
            found = (int(index.client.get_collection_stats(collection)["row_count"])
                     if exists else 0)
        except _milvus().MilvusException as exc:
            raise LibraryError(f"Milvus at {where}: {exc.message}") from exc
        if not exists:
            raise LibraryError(f"Milvus at {where} has no collection {collection}; "
                               "rebuild the library")
        if found != rows or rows != len(vectors):
            raise LibraryError(f"Milvus collection {collection} has {found} vectors, the "
                               f"library has {len(vectors)}; rebuild the library")
        return index

    # --- search ----------------------------------------------------------------------------

    def _search(self, q, k, mask, where):
        n_allowed = len(self) if mask is None else int(np.count_nonzero(mask))
        by_engine = mask is None or (n_allowed > max(k, self.exact_below) and where is not None
                                     and where.columns <= set(self.scalars))
        if not by_engine or k > MAX_TOPK:
            return exact_top_k(self.vectors, q, k, None if mask is None else
                               np.flatnonzero(mask))
        ef = max(self.ef_search, k)
        if mask is not None:
            # A filtered beam holds allowed and forbidden songs alike: widen it by the share the
            # filter allows (Milvus Lite, 2,000 songs, 8% allowed: recall@20 0.86 with ef 64,
            # 1.0 with ef 800), and to at least FILTERED_EF_FACTOR x k for a query with no
            # allowed song near it (a seed moved inside the filters; 3,000 songs, 44% allowed,
            # none in the unfiltered top 40: recall@40 0.475 with ef 217, 1.0 with ef 400).
            ef = max(-(-ef * len(self) // n_allowed), FILTERED_EF_FACTOR * k)
        ids, sims = self._engine_search(q, k, "" if where is None else where.expression(),
                                        min(MAX_TOPK, ef))
        return self._fill_short(q, k, mask, n_allowed, ids, sims)

    def _engine_search(self, q: np.ndarray, k: int, expression: str,
                       ef: int) -> tuple[np.ndarray, np.ndarray]:
        pymilvus = _milvus()
        try:
            if not self._loaded:  # Milvus Lite forgets a loaded collection when reopened
                self.client.load_collection(self.collection)
                self._loaded = True
            hits = self.client.search(
                self.collection, data=q.tolist(), limit=k, anns_field="vec",
                filter=expression, output_fields=["row"],
                search_params={"metric_type": "IP", "params": {"ef": ef}})
        except pymilvus.MilvusException as exc:
            raise LibraryError(f"Milvus search failed ({exc.message}); is the server at "
                               f"{self.uri or self.lite_path} up?") from exc
        ids = np.full((len(q), k), -1, np.int64)
        sims = np.full((len(q), k), -np.inf, np.float32)
        for i, row in enumerate(hits):
            got = [(int(h["row"]), float(h["distance"])) for h in row][:k]
            if got:
                ids[i, :len(got)] = [g[0] for g in got]
                sims[i, :len(got)] = [g[1] for g in got]
        # Milvus orders by its own score; ties and float noise aside it is ours, but keep the
        # contract (best first) exactly.
        order = np.argsort(-sims, axis=1, kind="stable")
        return np.take_along_axis(ids, order, 1), np.take_along_axis(sims, order, 1)


def _field_values(values: np.ndarray) -> list[Any]:
    """Python values for an insert: ints, floats, and None for NaN (unknown)."""
    return [None if v != v else v for v in np.asarray(values).tolist()]
