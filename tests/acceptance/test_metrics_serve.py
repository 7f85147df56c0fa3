"""/metrics from a real `casewatch serve --workers 2`: loopback scrapes without a token, and
the request counts are the sum over both processes, whichever one answers the scrape."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.acceptance.test_serve import _wait_ready, cli
from tests.web import free_port

REQUESTS = 40


def healthz_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "casewatch_http_requests_total" and sample.labels == {
                "route": "/healthz",
                "method": "GET",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_two_worker_processes_report_one_sum(tmp_path: Path) -> None:
    """40 /healthz requests spread over two workers; every scrape, by either, counts all 40."""
    cli("init", cwd=tmp_path)
    folders_before = set(Path(tempfile.gettempdir()).glob("casewatch-metrics-*"))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWATCH_", "PROMETHEUS"))}
    server = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "serve", "--port", str(port), "--workers", "2",
         "--no-scheduler"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server, scheduler="not in this process")
        before = healthz_count(httpx.get(f"{base}/metrics", timeout=5).text)
        for _ in range(REQUESTS):  # new connections: uvicorn's workers share the socket
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
        scrapes = [httpx.get(f"{base}/metrics", timeout=5) for _ in range(6)]
        assert {s.status_code for s in scrapes} == {200}
        assert {healthz_count(s.text) - before for s in scrapes} == {REQUESTS}
        pool = [line for line in scrapes[-1].text.splitlines() if line.startswith("casewatch_db")]
        assert any(line.startswith("casewatch_db_pool_size ") for line in pool), pool
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM), err.decode()[-2000:]
    assert b"Traceback" not in err
    assert set(Path(tempfile.gettempdir()).glob("casewatch-metrics-*")) <= folders_before, (
        "serve removes the folder its workers wrote their figures in"
    )


def test_metrics_can_be_closed_to_loopback_and_opened_by_token(tmp_path: Path) -> None:
    """With no allowed addresses, loopback gets a 403 and the token still gets the figures."""
    config = tmp_path / "config"
    config.mkdir()
    (config / "settings.yaml").write_text("web:\n  metrics_allow: []\n", encoding="utf-8")
    cli("init", cwd=tmp_path)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWATCH_", "PROMETHEUS"))}
    env |= {"CASEWATCH_CONFIG_DIR": str(config), "CASEWATCH_METRICS_TOKEN": "s3cret-scrape"}
    server = subprocess.Popen(
        [sys.executable, "-m", "casewatch", "serve", "--port", str(port), "--no-scheduler"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, server, scheduler="not in this process")
        refused = httpx.get(f"{base}/metrics", timeout=5)
        assert refused.status_code == 403
        allowed = httpx.get(
            f"{base}/metrics", headers={"authorization": "Bearer s3cret-scrape"}, timeout=5
        )
        assert allowed.status_code == 200
        assert "casewatch_outbox_messages" in allowed.text
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
