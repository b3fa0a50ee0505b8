"""A loopback stand-in for Twilio's Messages API, for the real twilio client to talk to.

It records what it accepts and can be told to fail: a status code, a Twilio error code, or
a delay longer than the client's timeout, for the next N sends to a number."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Failure:
    """How to fail the next `times` sends to a number."""

    times: int
    status: int = 500
    code: int | None = None
    delay: float = 0.0


@dataclass
class StandIn:
    """The stand-in's state; `base_url` goes into TWILIO_API_BASE_URL."""

    account_sid: str
    auth_token: str
    messages: list[dict[str, str]] = field(default_factory=list)
    attempts: list[dict[str, str]] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self.arrived = threading.Condition(self.lock)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def fail(self, to: str, failure: Failure) -> None:
        """Make the next sends to `to` fail."""
        with self.lock:
            self.failures.setdefault(to, []).append(failure)

    def sent_to(self, to: str) -> list[dict[str, str]]:
        """Accepted messages to a number (`whatsapp:` prefix included)."""
        with self.lock:
            return [m for m in self.messages if m["To"] == to]

    def wait_for(self, predicate: Any, timeout: float = 20.0) -> list[dict[str, str]]:
        """Wait until some accepted messages satisfy a predicate; return those."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if predicate(m)]
            if found:
                return found
            time.sleep(0.05)
        raise TimeoutError("the Twilio stand-in did not receive the expected message")

    def wait_for_count(self, to: str, count: int, timeout: float = 30.0) -> None:
        """Block until `count` messages to `to` have been accepted (no busy polling, so a
        benchmark in the same process does not steal the stand-in's time)."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while sum(1 for m in self.messages if m["To"] == to) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the Twilio stand-in did not receive the expected message")
                self.arrived.wait(remaining)

    def _next_failure(self, to: str) -> Failure | None:
        with self.lock:
            queue = self.failures.get(to) or []
            if not queue:
                return None
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.pop(0)
            return failure


def _handler(state: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as Twilio's API does: the client reuses its connection.
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: dict[str, Any]) -> None:
            body = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out): as with Twilio, it never hears the answer

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            expected = f"/2010-04-01/Accounts/{state.account_sid}/Messages.json"
            if self.path != expected:
                self._answer(404, {"code": 20404, "message": "not found", "status": 404})
                return
            auth = base64.b64encode(f"{state.account_sid}:{state.auth_token}".encode()).decode()
            if self.headers.get("Authorization") != f"Basic {auth}":
                self._answer(401, {"code": 20003, "message": "authenticate", "status": 401})
                return
            with state.lock:
                state.attempts.append(form)
            failure = state._next_failure(form.get("To", ""))
            if failure is not None:
                if failure.delay:
                    time.sleep(failure.delay)
                if failure.code is not None or failure.status >= 400:
                    self._answer(
                        failure.status,
                        {
                            "code": failure.code or failure.status,
                            "message": "stand-in failure",
                            "more_info": "",
                            "status": failure.status,
                        },
                    )
                    return
            sid = "SM" + uuid.uuid4().hex
            with state.arrived:
                state.messages.append({**form, "sid": sid, "received_at": str(time.time())})
                state.arrived.notify_all()
            self._answer(
                201,
                {
                    "sid": sid,
                    "account_sid": state.account_sid,
                    "to": form.get("To"),
                    "from": form.get("From"),
                    "body": form.get("Body"),
                    "status": "queued",
                    "num_segments": "1",
                    "direction": "outbound-api",
                    "api_version": "2010-04-01",
                    "uri": f"{expected[:-5]}/{sid}.json",
                },
            )

    return Handler


def start_standin(account_sid: str = "AC" + "0" * 32, auth_token: str = "test-token") -> StandIn:
    """Start a stand-in on a free loopback port (call `stop_standin` when done)."""
    state = StandIn(account_sid=account_sid, auth_token=auth_token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    state.server = server
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state


def stop_standin(state: StandIn) -> None:
    """Stop a stand-in."""
    if state.server is not None:
        state.server.shutdown()
        state.server.server_close()
