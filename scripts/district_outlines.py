"""Build the console map's offline base from the npm package ``echarts@4.9.0`` (run once).

echarts 4 ships China's provinces as JSON with coordinates packed in its "UTF8Encoding"
(zig-zag deltas of 1/1024 degree stored as characters). This decodes Beijing's districts and
Zhejiang's cities to plain GeoJSON (the encoding's step is 1/1024°, about 100 m: outlines,
not boundaries to measure by), and writes the region
names the reports use. Usage::

    npm pack echarts@4.9.0 && tar xzf echarts-4.9.0.tgz
    python scripts/district_outlines.py package/map/json/province console/static/map
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

PROVINCES = ("beijing", "zhejiang")


def decode_ring(text: str, offsets: list[int], scale: float = 1024) -> list[list[float]]:
    """One ring of echarts' encoding: pairs of characters, each a zig-zag delta from the last.

    >>> decode_ring("@@BB", [1024, 2048])
    [[1.0, 2.0], [1.000977, 2.000977]]
    """
    x, y = offsets
    out: list[list[float]] = []
    for i in range(0, len(text), 2):
        dx, dy = ord(text[i]) - 64, ord(text[i + 1]) - 64
        x += (dx >> 1) ^ -(dx & 1)
        y += (dy >> 1) ^ -(dy & 1)
        out.append([round(x / scale, 6), round(y / scale, 6)])
    return out


def decode_geometry(geometry: dict[str, Any]) -> dict[str, Any]:
    """One echarts geometry (Polygon or MultiPolygon) as plain GeoJSON, its rings
    decoded with their offsets.
    """
    kind, coords, offsets = geometry["type"], geometry["coordinates"], geometry["encodeOffsets"]
    if kind == "Polygon":
        rings = [decode_ring(r, o) for r, o in zip(coords, offsets, strict=True)]
        return {"type": kind, "coordinates": rings}
    polys = [
        [decode_ring(r, o) for r, o in zip(poly, offs, strict=True)]
        for poly, offs in zip(coords, offsets, strict=True)
    ]
    return {"type": kind, "coordinates": polys}


def main(source: Path, target: Path) -> None:
    """Decode the provinces under ``source`` into ``target``: ``districts.geojson``
    for the map and ``regions.json`` (code → name) for the reports.
    """
    features: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    for province in PROVINCES:
        data = json.loads((source / f"{province}.json").read_text("utf-8"))
        for f in data["features"]:
            code, name = str(f["id"]), f["properties"]["name"]
            names[code] = name
            features.append(
                {
                    "type": "Feature",
                    "id": code,
                    "properties": {"code": code, "name": name, "province": province},
                    "geometry": decode_geometry(f["geometry"]),
                }
            )
    names.update({"110000": "北京市", "330000": "浙江省"})
    target.mkdir(parents=True, exist_ok=True)
    (target / "districts.geojson").write_text(
        json.dumps(
            {"type": "FeatureCollection", "features": features},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        "utf-8",
    )
    (target / "regions.json").write_text(
        json.dumps(dict(sorted(names.items())), ensure_ascii=False, indent=0), "utf-8"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
