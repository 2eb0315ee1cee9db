"""Vendored assets ship in the package with their licenses; nothing points off the server."""

from __future__ import annotations

import re
from importlib import resources

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

PACKAGE = resources.files("omnikpi.web")

VENDORED = {
    "echarts": ["echarts.min.js", "LICENSE", "NOTICE", "LICENSE-d3"],
    "htmx": ["htmx.min.js", "LICENSE"],
    "swagger-ui": ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"],
}


@pytest.mark.parametrize("folder", sorted(VENDORED))
def test_vendored_files_and_licenses_are_package_data(folder: str) -> None:
    for name in VENDORED[folder]:
        file = PACKAGE.joinpath("static", "vendor", folder, name)
        assert file.is_file(), f"{folder}/{name} is missing"
    readme = PACKAGE.joinpath("static", "vendor", "README.md").read_text("utf-8")
    assert f"`{folder}/`" in readme


def test_templates_and_our_scripts_load_nothing_from_elsewhere() -> None:
    external = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.IGNORECASE)
    checked = 0
    with resources.as_file(PACKAGE) as root:
        for path in root.rglob("*"):
            if path.suffix in (".html", ".css", ".js") and "vendor" not in path.parts:
                assert not external.search(path.read_text("utf-8")), path
                checked += 1
    assert checked >= 8


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/vendor/echarts/echarts.min.js", "javascript"),
        ("/static/vendor/htmx/htmx.min.js", "javascript"),
        ("/static/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
def test_static_files_are_served_to_anyone(web_app: FastAPI, path: str, kind: str) -> None:
    with TestClient(web_app) as client:
        response = client.get(path)
    assert response.status_code == 200
    assert kind in response.headers["content-type"]
