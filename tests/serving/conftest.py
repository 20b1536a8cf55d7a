"""Fixtures of the serving tests: the tiny ticket run of tests/tickets (trained once per session)."""

import pytest

from tickets.fixtures import ticket_file, tiny_ticket_run


@pytest.fixture(scope="session")
def ticket_root(tmp_path_factory):
    return tmp_path_factory.getbasetemp() / "tickets"


@pytest.fixture(scope="session")
def tickets_csv(ticket_root):
    ticket_root.mkdir(exist_ok=True)
    return ticket_file(ticket_root)


@pytest.fixture(scope="session")
def ticket_run(ticket_root, tickets_csv):
    return tiny_ticket_run(ticket_root)
