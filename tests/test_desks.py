"Plug-in desks: `TradingSystem.add_desk` starts a component, mounts its REST routes, adds its stream types, stops it at close."
from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from ultimate_nb.core.clock import SimClock
from ultimate_nb.core.config import load_settings
from ultimate_nb.live import api
from ultimate_nb.live.system import TradingSystem

TOKEN = "t" * 32


@dataclass
class Ping:
    "An event type a desk streams."
    n: int


class EchoDesk:
    def __init__(self):
        self.calls = []
        self.stream_types = {"Ping": Ping}

    def start(self):
        self.calls.append("start")

    def stop(self):
        self.calls.append("stop")

    def routes(self, auth):
        r = APIRouter()

        @r.get("/api/v1/echo", dependencies=auth)
        async def echo():
            return {"calls": self.calls}
        return r


def test_desk_lifecycle_routes_and_stream_types(tmp_path):
    s = load_settings(overrides={"store": {"var_dir": str(tmp_path)}, "strategy": {"enabled": False}}, env_file=None)
    book = TradingSystem(s, clock=SimClock(start_ns=1_767_275_400_000_000_000))
    desk = book.add_desk("echo", EchoDesk())
    assert desk.calls == ["start"]
    with pytest.raises(ValueError, match="taken"):
        book.add_desk("echo", EchoDesk())
    with pytest.raises(ValueError, match="name must be an identifier"):
        book.add_desk("no spaces", EchoDesk())
    client = TestClient(api.create_rest_app(book, TOKEN))
    assert client.get("/api/v1/echo").status_code == 401
    r = client.get("/api/v1/echo", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json() == {"calls": ["start"]}
    assert api.stream_types(book)["Ping"] is Ping and "Quote" in api.stream_types(book)
    book.close()
    assert desk.calls == ["start", "stop"]
