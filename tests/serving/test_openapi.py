"""The OpenAPI schema keeps its word: schemathesis against a live server, the 503s, one error body.

The first test runs the command a user would (``schemathesis run URL/openapi.json --checks
all``, with the repository's schemathesis.toml and its image-file hooks) against a live
``nnlab serve`` app with both systems loaded from the session's tiny runs, and fails on any
finding: an undocumented status, a body the response model does not describe, a request the
schema allows that is refused (or one it forbids that is accepted), a 5xx.
"""

import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nnlab.serving.app import create_app
from nnlab.serving.settings import Settings
from serving.fashion_fixtures import calibrated_run, live_server

ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
EXAMPLES = 25  # per operation and phase: a run takes about 10-20 s here
MODEL_ROUTES = {("post", "/v1/predict"), ("post", "/v1/bag"), ("get", "/v1/model"),
                ("post", "/v1/tickets/triage"), ("get", "/v1/tickets/model")}
LIMITS = dict(max_files=8, max_tickets=20)


@pytest.fixture(scope="module")
def both(tiny_run, small_splits, tmp_path_factory, ticket_run):
    run = calibrated_run(tiny_run, small_splits, tmp_path_factory.getbasetemp())
    app = create_app(Settings(fashion_model=str(run), tickets_model=str(ticket_run), **LIMITS))
    yield app
    app.state.fashion.close()


@pytest.mark.skipif(not SCHEMATHESIS.is_file(), reason="schemathesis is not installed (the test extra)")
def test_schemathesis_finds_nothing_against_a_live_server_with_both_systems(both):
    with live_server(both) as url:
        done = subprocess.run([str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", "all",
                               "--max-examples", str(EXAMPLES), "--seed", "0", "--workers", "1",
                               "--output-truncate", "true"],
                              cwd=ROOT, capture_output=True, text=True, timeout=300)  # cwd: schemathesis.toml
    report = done.stdout + done.stderr
    assert "Configuration:" in report and "schemathesis.toml" in report  # the hooks were loaded
    assert done.returncode == 0, report[-6000:]
    assert "No issues found" in report


def test_schema_writes_the_settings_limits_and_requires_a_file(both):
    schema = both.openapi()
    for path in ("/v1/predict", "/v1/bag"):
        body = schema["paths"][path]["post"]["requestBody"]
        files = body["content"]["multipart/form-data"]["schema"]
        assert body["required"] and files["required"] == ["files"]
        assert (files["properties"]["files"]["minItems"], files["properties"]["files"]["maxItems"]) == (1, 8)
    triage = schema["paths"]["/v1/tickets/triage"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert triage["anyOf"][1]["maxItems"] == 20 and "Ticket" in schema["components"]["schemas"]


def test_every_error_status_is_documented_with_the_one_error_body(both):
    for path, methods in both.openapi()["paths"].items():
        for method, operation in methods.items():
            for status, response in operation["responses"].items():
                if not status.startswith("2"):
                    assert response["content"]["application/json"]["schema"] == \
                        {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            assert ("503" in operation["responses"]) == ((method, path) in MODEL_ROUTES), (method, path)


def test_without_models_every_model_route_answers_the_documented_503():
    with TestClient(create_app(Settings())) as client:
        for method, path in sorted(MODEL_ROUTES):
            response = client.request(method, path, json={"title": "a", "body": "b"})
            assert response.status_code == 503, (method, path)
            assert set(response.json()["detail"]) == {"message", "errors"} and "nnlab serve --" in \
                response.json()["detail"]["message"]


@pytest.mark.parametrize("method, path, body, status", [
    ("get", "/no/such/page", None, 404),
    ("delete", "/v1/predict", None, 405),
    ("post", "/v1/tickets/triage", {"title": 1}, 422),
])
def test_fastapis_own_errors_take_the_one_shape(both, method, path, body, status):
    with TestClient(both) as client:
        response = client.request(method, path, json=body)
    assert response.status_code == status
    detail = response.json()["detail"]
    assert isinstance(detail["message"], str) and detail["message"] and isinstance(detail["errors"], list)
