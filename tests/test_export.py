"""Graph exports carry node attributes that Gephi and igraph read back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import igraph as ig
import pyarrow as pa

from cibscan.export import write_gexf, write_graphml

EDGES = pa.table({"source": ["a", "a"], "target": ["b", "<c&>"], "weight": [3, 1]})
NODES = pa.table(
    {
        "id": ["a", "b", "<c&>", "lonely"],
        "network": ["N1", "N1", "", "N2"],
        "score": [2.5, 1.0, 0.0, 0.5],
        "kind": ["user", "page", "user", "group"],
    }
)


def test_graphml_node_attributes_read_back(tmp_path: Path) -> None:
    path = tmp_path / "g.graphml"
    write_graphml(EDGES, path, nodes=NODES)
    ids = {
        n.get("id")
        for n in ET.parse(path).getroot().iter("{http://graphml.graphdrawing.org/xmlns}node")
    }
    assert ids == {"a", "b", "<c&>", "lonely"}  # markup in ids survives, escaped
    graph = ig.Graph.Read_GraphML(str(path))
    by_id = {v["id"]: v.attributes() for v in graph.vs}
    assert by_id["b"]["network"] == "N1" and by_id["b"]["kind"] == "page"
    assert by_id["a"]["score"] == 2.5
    assert graph.ecount() == 2 and sorted(graph.es["weight"]) == [1, 3]


def test_gexf_node_attributes(tmp_path: Path) -> None:
    path = tmp_path / "g.gexf"
    write_gexf(EDGES, path, nodes=NODES)
    ns = {"g": "http://gexf.net/1.3"}
    root = ET.parse(path).getroot()
    titles = {
        a.get("id"): a.get("title")
        for a in root.findall(".//g:attributes[@class='node']/g:attribute", ns)
    }
    node = root.find(".//g:node[@id='lonely']", ns)
    assert node is not None
    values = {titles[v.get("for")]: v.get("value") for v in node.findall(".//g:attvalue", ns)}
    assert values == {"network": "N2", "score": "0.5", "kind": "group"}
    assert len(root.findall(".//g:edge", ns)) == 2


def test_ids_xml_cannot_hold_stay_distinct_nodes(tmp_path: Path) -> None:
    # "x\x01" is written with a visible marker; the account literally named "x[U+0001]" must
    # not become the same node (a false self-loop and parallel edges in Gephi).
    edges = pa.table({"source": ["x\x01", "x[U+0001]"], "target": ["z", "z"], "weight": [1, 2]})
    for write, suffix, tag in (
        (write_graphml, "graphml", "{http://graphml.graphdrawing.org/xmlns}node"),
        (write_gexf, "gexf", "{http://gexf.net/1.3}node"),
    ):
        path = tmp_path / f"g.{suffix}"
        write(edges, path)
        ids = [n.get("id") for n in ET.parse(path).getroot().iter(tag)]
        assert sorted(ids) == sorted(["x[U+0001]", "x[U+005B]U+0001]", "z"]), suffix
