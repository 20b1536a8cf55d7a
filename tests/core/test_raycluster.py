"""nnlab.core.raycluster's address check: only a Ray head's port is handed to ``ray.init`` (which waits for ever)."""

import http.server
import socket
import threading

import pytest

from nnlab.core.errors import NnlabError
from nnlab.core.raycluster import _check_reachable


@pytest.fixture
def web_server():
    """HOST:PORT of a plain HTTP server (something that answers, but not Ray)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server():
    """HOST:PORT of a server that accepts connections and never says a word."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield f"127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_web_server_is_not_taken_for_a_ray_cluster(web_server):
    with pytest.raises(NnlabError, match=r"something answers there, but not a Ray cluster .*answered '"):
        _check_reachable(web_server, f"the Ray cluster at {web_server}")


def test_a_silent_server_is_refused_after_the_wait(silent_server):
    with pytest.raises(NnlabError, match="closed the connection or said nothing"):
        _check_reachable(silent_server, f"the Ray cluster at {silent_server}", seconds=1)


def test_nothing_listening_and_a_bracketed_ipv6_address_are_refused_by_name():
    port = socket.create_server(("127.0.0.1", 0))
    free = port.getsockname()[1]
    port.close()
    for address in (f"127.0.0.1:{free}", f"[::1]:{free}"):
        with pytest.raises(NnlabError, match="nothing answers there"):
            _check_reachable(address, f"the Ray cluster at {address}")


def test_a_ray_head_passes(ray_address):
    _check_reachable(ray_address, f"the Ray cluster at {ray_address}")  # no error: ray.init may go on
