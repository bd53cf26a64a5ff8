"""Sound families: songs clustered in two levels, broad families and sub-families inside each,
named after what sets them apart, with a 2-D map.

- `cluster`: the clustered space and two-level spherical k-means;
- `naming`: each family's profile against the catalogue, and the words it backs;
- `builder`: `build_families`, which clusters, describes and names;
- `model`: `Family` and `Families` (files, lookup by id or name, assigning new vectors);
- `layout`: the 2-D sound map.
"""

from musicrec.families.builder import build_families
from musicrec.families.cluster import default_family_count, default_subfamily_count
from musicrec.families.layout import MAP_PCA, MAP_TSNE, place_by_neighbours, song_map
from musicrec.families.model import FORMAT_VERSION, METHOD, Families, Family

__all__ = ["FORMAT_VERSION", "MAP_PCA", "MAP_TSNE", "METHOD", "Families", "Family",
           "build_families", "default_family_count", "default_subfamily_count",
           "place_by_neighbours", "song_map"]
