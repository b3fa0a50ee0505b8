"""Starts and stops Waymark's three processes: Rasa, the action server, the API with its worker.

Used by `waymark run`, by the end-to-end tests, the benchmark and the evaluation, so that all
of them run the assistant the same way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from waymark.settings import ROOT

RASA_BIN = ROOT / ".venv-rasa" / "bin" / "rasa"
APP_PYTHON = ROOT / ".venv" / "bin" / "python"
DEFAULT_MODEL = ROOT / "models" / "waymark.tar.gz"


@dataclass
class StackConfig:
    """Ports, model and environment for one stack."""

    api_port: int = 8000
    rasa_port: int = 5005
    action_port: int = 5055
    model: Path = DEFAULT_MODEL
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None  # None: prefixed lines on this process's stdout

    @property
    def api_url(self) -> str:
        """The API's base URL."""
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def rasa_url(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def action_url(self) -> str:
        """The action server's base URL."""
        return f"http://127.0.0.1:{self.action_port}"


class Stack:
    """The three processes, started and stopped together or one by one."""

    NAMES = ("rasa", "actions", "api")

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "RASA_URL": self.config.rasa_url,
                "ACTION_SERVER_URL": self.config.action_url,
                "PUBLIC_BASE_URL": env.get("PUBLIC_BASE_URL", self.config.api_url),
                "DASHBOARD_URL": env.get("DASHBOARD_URL", f"{self.config.api_url}/staff"),
                "PYTHONUNBUFFERED": "1",
                "TF_CPP_MIN_LOG_LEVEL": "2",
            }
        )
        env.update(self.config.env)
        return env

    def _endpoints_file(self) -> Path:
        run_dir = ROOT / "var" / "run"
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / f"endpoints-{self.config.rasa_port}.yml"
        path.write_text(
            f'action_endpoint:\n  url: "{self.config.action_url}/webhook"\n', encoding="utf-8"
        )
        return path

    def command(self, name: str) -> list[str]:
        """The command line of one process."""
        if name == "rasa":
            return [
                str(RASA_BIN), "run", "--enable-api", "-i", "127.0.0.1",
                "-p", str(self.config.rasa_port), "-m", str(self.config.model),
                "--endpoints", str(self._endpoints_file()),
                "--credentials", str(ROOT / "bot" / "credentials.yml"),
            ]  # fmt: skip
        if name == "actions":
            return [
                str(APP_PYTHON), "-m", "rasa_sdk", "--actions", "actions",
                "-p", str(self.config.action_port),
            ]  # fmt: skip
        if name == "api":
            return [
                str(APP_PYTHON), "-m", "waymark.cli", "serve", "--port", str(self.config.api_port),
            ]  # fmt: skip
        raise ValueError(name)

    def start_one(self, name: str) -> None:
        """Start one process (again)."""
        if self.config.log_dir is not None:
            self.config.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.config.log_dir / f"{name}.log", "ab")  # noqa: SIM115
            self._logs.append(log)
            stdout: int | IO[bytes] = log
        else:
            stdout = subprocess.PIPE
        process = subprocess.Popen(
            self.command(name),
            cwd=ROOT,
            env=self._env(),
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes[name] = process
        if self.config.log_dir is None and process.stdout is not None:
            threading.Thread(target=_prefix_lines, args=(name, process.stdout), daemon=True).start()

    def start(self) -> None:
        """Start all three."""
        for name in self.NAMES:
            self.start_one(name)

    def stop_one(self, name: str, *, kill: bool = False) -> None:
        """Stop one process (SIGKILL with kill=True, as a crash would)."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL if kill else signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def stop(self) -> None:
        """Stop everything."""
        for name in reversed(self.NAMES):
            self.stop_one(name)
        for log in self._logs:
            log.close()
        self._logs.clear()

    def wait_until(self, url: str, timeout: float, *, name: str | None = None) -> None:
        """Wait until a URL answers 200.

        Raises:
            TimeoutError: it did not in time, or the process died.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name and name in self.processes and self.processes[name].poll() is not None:
                raise TimeoutError(f"{name} exited with {self.processes[name].returncode}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{url} was not ready after {timeout:.0f}s")

    def wait_ready(self, timeout: float = 240) -> None:
        """Wait until all three answer (the API's /readyz checks the other two)."""
        start = time.monotonic()
        self.wait_until(f"{self.config.api_url}/healthz", timeout, name="api")
        self.wait_until(f"{self.config.action_url}/health", timeout, name="actions")
        remaining = timeout - (time.monotonic() - start)
        self.wait_until(f"{self.config.api_url}/readyz", max(remaining, 5), name="rasa")


def _prefix_lines(name: str, stream: IO[bytes]) -> None:
    for raw in iter(stream.readline, b""):
        sys.stdout.write(f"[{name:7}] {raw.decode(errors='replace')}")
        sys.stdout.flush()


class Supervisor:
    """`waymark run`: start everything, print where to go, stop cleanly on Ctrl-C."""

    def __init__(self, *, port: int = 8000, ready_timeout: float = 240) -> None:
        self.stack = Stack(StackConfig(api_port=port))
        self.ready_timeout = ready_timeout

    def run(self) -> int:
        """Run until Ctrl-C (or until a process dies)."""
        if not self.stack.config.model.exists():
            print(f"No trained model at {self.stack.config.model}: run `make model` first.")
            return 2
        stopping = threading.Event()

        def _interrupt(*_: object) -> None:
            raise KeyboardInterrupt

        # Explicit handlers: a shell may start us with SIGINT ignored (background jobs).
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
        print("Starting Rasa (about 30 s), the action server and the API...")
        self.stack.start()
        try:
            self.stack.wait_ready(self.ready_timeout)
            url = self.stack.config.api_url
            print(
                "\nWaymark is ready.\n"
                f"  Test phone (browser):   {url}/dev/phone\n"
                f"  Twilio SMS webhook:     {url}/twilio/sms\n"
                f"  Twilio WhatsApp webhook:{url}/twilio/whatsapp\n"
                f"  Staff API:              {url}/staff/api/alerts (Bearer STAFF_API_TOKEN)\n"
                f"  Health:                 {url}/readyz\n"
                "  Terminal phone:         .venv/bin/waymark chat\n"
                "Press Ctrl-C to stop.\n",
                flush=True,
            )
            while not stopping.wait(1.0):
                dead = [n for n, p in self.stack.processes.items() if p.poll() is not None]
                if dead:
                    print(f"{', '.join(dead)} stopped unexpectedly; shutting down.")
                    return 1
            return 0
        except KeyboardInterrupt:
            return 0
        except TimeoutError as exc:
            print(f"Waymark did not become ready: {exc}")
            return 1
        finally:
            # A second Ctrl-C must not leave Rasa or the action server running.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            print("Stopping...", flush=True)
            self.stack.stop()
            print("Stopped.")
