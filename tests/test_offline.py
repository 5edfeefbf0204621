"""No command reaches outside the machine: ``ask``, ``serve``/``ui`` (one request each) and ``eval``
run under strace, which sees every connect/send at the system-call level (onnxruntime's telemetry is
C++ code, invisible to Python's audit hooks), and any non-loopback address or any DNS query fails.

onnxruntime's uploader first resolves its server about 10 s after ``import onnxruntime`` (measured:
10.0 s, then 15.5 s, then 24 s), so every traced process stays alive :data:`LINGER_S` seconds after
its work is done (``ask``/``eval`` finished, the server's request answered), by which time it has
imported onnxruntime. The four commands run side by side: 35-50 s in all on 2 busy cores.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

#: Seconds each traced command stays alive after its work: past onnxruntime's first lookup (10 s).
LINGER_S = 13.0
#: Variables a user's shell does not set; removed so that the test shows the assistant sets them itself.
OFFLINE_VARS = ("ORT_DISABLE_TELEMETRY", "ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED",
                "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY")

# Runs the console script's entry point, then idles LINGER_S seconds (so that background threads
# started by the libraries get the time to act, as in a long `eval` or a slow `ask`).
LINGER = (
    "import sys, time\n"
    "linger = float(sys.argv[1])\n"
    "try:\n"
    "    from assistant.cli import main\n"
    "    sys.argv = ['assistant', *sys.argv[2:]]\n"
    "    main()\n"
    "finally:\n"
    "    time.sleep(linger)\n"
)

_ADDR = re.compile(r'sa_family=AF_INET6?, sin6?_port=htons\((\d+)\).*?'
                   r'(?:inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)")')


def outside_traffic(strace_log: str) -> list[str]:
    """strace lines that send to a non-loopback address, or to any DNS port (53)."""
    bad = []
    for line in strace_log.splitlines():
        for port, v4, v6 in _ADDR.findall(line):
            ip = ipaddress.ip_address(v4 or v6)
            loopback = ip.is_loopback or (ip.version == 6 and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback)
            if not loopback or int(port) == 53:
                bad.append(line.strip())
    return bad


def test_the_watch_flags_outside_and_dns_traffic_only() -> None:
    log = "\n".join([
        '12 connect(8, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = 0',
        '12 connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "2603:1030::1", &sin6_addr), sin6_scope_id=0}, 28) = -1',
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 0',
        '12 connect(4, {sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0',
        '12 connect(5, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), '
        'inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
        '12 connect(6, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0',
    ])
    assert [line.split("(")[1].split(",")[0] for line in outside_traffic(log)] == ["8", "9", "3"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """End a traced command and strace (their own process group, started here)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_ready(proc: subprocess.Popen, port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited with {proc.returncode}"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"no server on port {port} after the deadline")


@pytest.fixture(scope="module")
def strace() -> str:
    path = shutil.which("strace")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("strace is missing: .ci/run installs it (apt-get install strace)")
        pytest.skip("strace is not installed (apt-get install strace); CI installs it")
    return path


def test_no_command_reaches_outside_the_machine(strace: str, tmp_path: Path, dev_questions: list[dict]) -> None:
    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in dev_questions[:3]), encoding="utf-8")
    serve_port, ui_port = _free_port(), _free_port()
    commands = {
        "ask": ["ask", "Who invited Min Aung Hlaing to Russia?"],
        "eval": ["eval", str(questions), "--out", str(tmp_path / "eval-out")],
        "serve": ["serve", "--port", str(serve_port)],
        "ui": ["ui", "--port", str(ui_port)],
    }
    # ask/serve/ui serve only an index that exists outside the default location: build one, then copy it
    built = subprocess.run([sys.executable, "-m", "assistant.cli", "index", "--data-dir", str(tmp_path / "base")],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    for name in ("ask", "serve", "ui"):
        shutil.copytree(tmp_path / "base", tmp_path / name)
    procs: dict[str, subprocess.Popen] = {}
    start = time.monotonic()
    served = start
    try:
        for name, args in commands.items():
            trace = ["-f", "-qq", "--seccomp-bpf", "-e", "trace=connect,sendto,sendmsg,sendmmsg",
                     "-e", "signal=none", "-o", str(tmp_path / f"{name}.strace")]
            procs[name] = subprocess.Popen(
                [strace, *trace, sys.executable, "-c", LINGER, str(LINGER_S), *args, "--data-dir", str(tmp_path / name)],
                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                start_new_session=True)
        for name, port in (("serve", serve_port), ("ui", ui_port)):
            _wait_ready(procs[name], port, start + 70)
            r = httpx.post(f"http://127.0.0.1:{port}/v1/ask", json={"question": "Who invited Min Aung Hlaing?"},
                           timeout=60)
            assert r.status_code == 200 and "Putin" in r.json()["answer"], r.text
            served = time.monotonic()
        for name in ("ask", "eval"):
            out, _ = procs[name].communicate(timeout=90)
            assert procs[name].returncode == 0, f"{name} failed:\n{out}"
        time.sleep(max(0.0, served + LINGER_S - time.monotonic()))
    finally:
        for proc in procs.values():
            _stop(proc)
    found = {name: outside_traffic((tmp_path / f"{name}.strace").read_text(encoding="utf-8")) for name in commands}
    assert not any(found.values()), "\n".join(
        f"{name}: {len(lines)} outside connection(s) or DNS lookup(s), first: {lines[0]}" for name, lines in found.items() if lines)
