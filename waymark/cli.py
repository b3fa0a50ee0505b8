"""`waymark`: the project's command line."""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Annotated

import typer
from cryptography.fernet import Fernet

from waymark.settings import ROOT, get_settings

app = typer.Typer(help="Waymark: a trauma-informed safeguarding assistant.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command("init-env")
def init_env(
    path: Annotated[Path, typer.Option(help="Where to write it.")] = ROOT / ".env",
) -> None:
    """Write a .env with freshly generated keys, unless one exists."""
    if path.exists():
        typer.echo(f"{path} exists; leaving it alone.")
        return
    template = (ROOT / ".env.example").read_text(encoding="utf-8")
    lines = []
    for line in template.splitlines():
        if line.startswith("WAYMARK_PHONE_HASH_KEY="):
            line = f"WAYMARK_PHONE_HASH_KEY={secrets.token_urlsafe(32)}"
        elif line.startswith("WAYMARK_PHONE_ENCRYPTION_KEYS="):
            line = f"WAYMARK_PHONE_ENCRYPTION_KEYS={Fernet.generate_key().decode()}"
        elif line.startswith("STAFF_API_TOKEN="):
            line = f"STAFF_API_TOKEN={secrets.token_urlsafe(24)}"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    typer.echo(f"wrote {path} with new keys")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from waymark.migrate import upgrade

    upgrade(get_settings().waymark_database_url)
    typer.echo("database is up to date")


@app.command()
def seed(
    rota_file: Annotated[Path | None, typer.Option(help="Rota YAML (default ROTA_FILE).")] = None,
) -> None:
    """Load staff and the duty rota from configuration (demo data on a fresh machine)."""
    from waymark.db import session_scope
    from waymark.services import rota

    settings = get_settings()
    path = rota_file or settings.rota_file
    if not path.exists():
        path = ROOT / "config" / "rota.example.yml"
    with session_scope() as session:
        team = rota.load_from_file(session, settings, path=path)
        typer.echo(
            f"duty rota loaded from {path.name}: primary {team.primary.name}, "
            f"backup {team.backup.name if team.backup else '-'}, "
            f"manager {team.manager.name if team.manager else '-'}"
        )


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    worker: Annotated[bool, typer.Option(help="Run the background worker too.")] = True,
) -> None:
    """Run the API (gateway, staff API) with its background worker."""
    import uvicorn

    os.environ["WAYMARK_RUN_WORKER"] = "1" if worker else "0"
    uvicorn.run("api.main:app_factory", factory=True, host=host, port=port, log_level="info")


@app.command("worker")
def run_worker() -> None:
    """Run only the background worker (turns, sending, escalation, reconciliation)."""
    from waymark.db import get_sessionmaker
    from waymark.worker import Worker

    worker = Worker(get_settings(), get_sessionmaker())
    worker.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    worker.stop()


@app.command()
def screen() -> None:
    """Screen messages: one per line on stdin, one JSON object per line on stdout."""
    from waymark.screen.cli import run

    raise typer.Exit(run(sys.stdin, sys.stdout))


@app.command("alerts")
def list_alerts(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """Print every alert."""
    from waymark.db import session_scope
    from waymark.services import alerts

    with session_scope() as session:
        rows = [alerts.to_dict(a) for a in reversed(alerts.list_alerts(session, limit=100000))]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        typer.echo(
            f"{row['reference']}  {row['severity']:<9} {row['status']:<12} "
            f"{','.join(row['categories']) or '-':<40} {row['created_at']}"
        )


@app.command()
def chat(
    number: Annotated[str, typer.Option(help="The phone number to text as.")] = "+447700900999",
    whatsapp: Annotated[bool, typer.Option(help="Text as a WhatsApp user.")] = False,
    api: Annotated[
        str | None, typer.Option(help="The API to talk to (default: PUBLIC_BASE_URL).")
    ] = None,
) -> None:
    """Text Waymark from the terminal, through the same signed webhook as a real phone."""
    import httpx
    from twilio.request_validator import RequestValidator

    settings = get_settings()
    channel = "whatsapp" if whatsapp else "sms"
    prefix = "whatsapp:" if whatsapp else ""
    path = f"/twilio/{channel}"
    seen: set[str] = set()
    # Signatures are computed for the public URL Twilio would use; requests go to the API.
    target = (api or settings.public_base_url).rstrip("/")

    def show_new(wait: float) -> None:
        # Wait for the turn's replies: stop a moment after the last one, or at the deadline.
        deadline, quiet_after = time.monotonic() + wait, None
        while time.monotonic() < deadline:
            items = httpx.post(f"{target}/dev/phone/messages", json={"number": number}).json()
            for item in items:
                if item["id"] in seen:
                    continue
                seen.add(item["id"])
                if item["from"] == "waymark":
                    typer.echo(typer.style("waymark> ", fg="green") + item["text"])
                    quiet_after = time.monotonic() + 1.5
            if quiet_after is not None and time.monotonic() > quiet_after:
                return
            time.sleep(0.3)

    show_new(0.5)
    typer.echo("Type a message (Ctrl-D to leave).")
    for line in sys.stdin:
        params = {
            "MessageSid": f"SMchat{uuid.uuid4().hex[:26]}",
            "AccountSid": settings.twilio_account_sid or "ACdev",
            "From": f"{prefix}{number}",
            "To": f"{prefix}{settings.twilio_sms_from or '+447700900000'}",
            "Body": line.rstrip("\n"),
            "NumMedia": "0",
        }
        signature = RequestValidator(settings.effective_twilio_auth_token).compute_signature(
            settings.public_base_url + path, params
        )
        response = httpx.post(target + path, data=params, headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            typer.echo(f"(the gateway answered {response.status_code}: {response.text})")
        show_new(15.0)


@app.command()
def run(
    port: int = 8000,
    ready_timeout: Annotated[float, typer.Option(help="Seconds to wait for readiness.")] = 240,
) -> None:
    """Start Rasa, the action server and the API with its worker; Ctrl-C stops them all."""
    from waymark.supervisor import Supervisor

    raise typer.Exit(Supervisor(port=port, ready_timeout=ready_timeout).run())


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
