"""docker/grafana-dashboard.json is valid JSON and every query names metrics mailrs exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mailrs.metrics.instruments import EXPORTED

DASHBOARD = Path(__file__).resolve().parents[2] / "docker" / "grafana-dashboard.json"
METRIC = re.compile(r"\bmailrs_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def exported(name: str) -> bool:
    """True for an exported name, or a histogram's series of one."""
    if name in EXPORTED:
        return True
    return any(name.endswith(s) and name.removesuffix(s) in EXPORTED for s in HISTOGRAM_SUFFIXES)


def test_every_expression_names_an_exported_metric() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    assert len(exprs) >= 12
    used = set()
    for expr in exprs:
        names = METRIC.findall(expr)
        assert names, expr
        for name in names:
            assert exported(name), f"{name} in {expr!r} is not a metric mailrs exports"
        used.update(names)
    families = {n.removesuffix(s) for n in used for s in HISTOGRAM_SUFFIXES if n.endswith(s)}
    assert set(EXPORTED) <= used | families  # and every exported metric has a panel


def test_the_readme_names_only_exported_metrics() -> None:
    readme = (DASHBOARD.parents[1] / "README.md").read_text()
    section = readme.split("#### Metrics and the Grafana dashboard", 1)[1].split("\n## ", 1)[0]
    names = set(METRIC.findall(section))
    assert set(EXPORTED) <= names  # every metric documented
    for name in names:
        assert exported(name), name  # and no metric it does not export
