"""nnlab.serving: POST /v1/tickets/triage (status and JSON), 422s naming the field, 503, the page."""

import pytest
from fastapi.testclient import TestClient

from nnlab.serving.app import create_app
from nnlab.serving.settings import Settings
from nnlab.tickets.triage import load_served, triage

URL = "/v1/tickets/triage"
TICKET = {"title": "Charged twice for order #4821", "body": "Please refund asap", "tags": ["billing", "urgent"]}


@pytest.fixture(scope="module")
def client(ticket_run):
    with TestClient(create_app(Settings(tickets_model=str(ticket_run), max_tickets=5))) as client:
        yield client


def test_one_ticket_gets_the_fields_of_nnlab_tickets_predict(client, ticket_run):
    response = client.post(URL, json=TICKET)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"priority", "department", "department_probabilities"}
    expected = triage(load_served(ticket_run), [TICKET])[0]
    assert body["department"] == expected["department"] and body["priority"] == pytest.approx(expected["priority"])
    assert body["department_probabilities"] == pytest.approx(expected["department_probabilities"])
    assert max(body["department_probabilities"], key=body["department_probabilities"].get) == body["department"]


def test_a_list_gets_a_list_in_order_with_ids_echoed(client):
    tickets = [{**TICKET, "id": 7}, {"title": "App crashes on start", "body": "", "id": "b"}, {"title": "", "body": "x"}]
    response = client.post(URL, json=tickets)
    assert response.status_code == 200
    rows = response.json()
    assert [row.get("id") for row in rows] == [7, "b", None]
    single = client.post(URL, json=TICKET).json()
    assert rows[0]["department"] == single["department"] and rows[0]["priority"] == pytest.approx(single["priority"])


@pytest.mark.parametrize("payload, loc, kind", [
    ({"body": "x"}, ["body", "title"], "missing"),
    ({"title": "a"}, ["body", "body"], "missing"),
    ({"title": 5, "body": "x"}, ["body", "title"], "string_type"),
    ({"title": "a", "body": "b", "tags": 3}, ["body", "tags"], "list_type"),
    ({"title": "a", "body": "b", "tags": [1]}, ["body", "tags", 0], "string_type"),
    ({"title": " ", "body": ""}, ["body", "body"], "value_error"),
    ({"title": "a", "body": "b", "titel": "typo"}, ["body", "titel"], "extra_forbidden"),
    ([TICKET, {"body": "x"}], ["body", 1, "title"], "missing"),
    ([], ["body"], "too_short"),
    ([TICKET] * 6, ["body"], "too_long"),
    ("just text", ["body"], "model_type"),
])
def test_bad_tickets_get_422_naming_the_field(client, payload, loc, kind):
    response = client.post(URL, json=payload)
    assert response.status_code == 422
    detail = response.json()["detail"]
    (error,) = detail["errors"]
    assert error["loc"] == loc and error["type"] == kind
    assert detail["message"].startswith(".".join(map(str, loc)) + ": ")  # one line naming the field


def test_too_many_and_empty_messages_say_what_to_do(client):
    assert "at most 5 tickets per request, got 6" in client.post(URL, json=[TICKET] * 6).json()["detail"]["message"]
    assert "both empty" in client.post(URL, json={"title": "", "body": ""}).json()["detail"]["errors"][0]["msg"]
    broken = client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert broken.status_code == 422 and broken.json()["detail"]["errors"][0]["type"] == "json_invalid"
    too_long = client.post(URL, json={**TICKET, "body": "x" * 50_001})  # the limit schemathesis cannot test
    assert too_long.status_code == 422 and too_long.json()["detail"]["errors"][0]["loc"] == ["body", "body"]


def test_limit_defaults_to_1000_tickets():
    assert Settings().max_tickets == 1000


def test_without_a_model_the_endpoint_says_how_to_start_one():
    with TestClient(create_app(Settings())) as client:
        response = client.post(URL, json=TICKET)
        assert response.status_code == 503 and "nnlab serve --tickets RUN" in response.json()["detail"]["message"]
        assert client.get("/healthz").json() == {"status": "ok", "models": {"tickets": False}}


def test_model_info_and_the_offline_page(client):
    info = client.get("/v1/tickets/model").json()
    assert info["outputs"] == ["priority", "department"] and info["vocabulary_size"] == 300
    page = client.get("/tickets")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<form id="ticket">' in html and 'id="title"' in html and 'id="body"' in html and 'id="tags"' in html
    assert "src=" not in html and "href=" not in html  # nothing loaded from elsewhere: works offline


# ---------------------------------------------------------------- a run trained on a helpdesk's export


@pytest.fixture(scope="module")
def export_client(ticket_root):
    from tickets.fixtures import export_ticket_run

    ticket_root.mkdir(exist_ok=True)
    with TestClient(create_app(Settings(tickets_model=str(export_ticket_run(ticket_root))))) as client:
        yield client


def test_an_export_run_answers_with_the_files_departments_and_levels(export_client):
    """HTML bodies and "a, b" tags are read as ticket files are: the same answer as their plain text."""
    from tickets.fixtures import EXPORT_GROUPS, EXPORT_LEVELS

    html = {"title": "Refund", "body": "<p>Hi team,</p><p>charged&nbsp;twice &amp; no refund</p><p>Regards,<br>"
                                       "<b>Zoë</b></p>", "tags": "billing, vip"}
    plain = {"title": "Refund", "body": "Hi team, charged twice & no refund Regards, Zoë", "tags": ["billing", "vip"]}
    answers = [export_client.post(URL, json=ticket) for ticket in (html, plain)]
    assert [answer.status_code for answer in answers] == [200, 200]
    (first, second) = (answer.json() for answer in answers)
    assert first == second
    assert first["department"] in EXPORT_GROUPS.values() and set(first["department_probabilities"]) == set(
        EXPORT_GROUPS.values())
    assert first["priority_level"] in EXPORT_LEVELS.split(",") and 0 <= first["priority"] <= 1
    assert export_client.get("/v1/tickets/model").json()["priority_levels"] == EXPORT_LEVELS.split(",")
    # Markup alone is a ticket the schema allows (a non-blank title): triaged, with no words to go on.
    assert export_client.post(URL, json={"title": "<p> </p>", "body": "<br>&nbsp;"}).status_code == 200
