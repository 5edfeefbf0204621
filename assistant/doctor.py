"""``assistant doctor``: a preflight that says whether this machine can run the assistant, and how to fix it.

Each check gives a status (``ok``, ``warn``, ``fail`` or ``skip``), what it found and, when it is not
``ok``, the fix. Only ``fail`` makes the command exit 1: a warning (an empty index that ``ui`` fills on
start, no ``objdump`` to inspect the build) does not stop the assistant from running.

The model is run in a subprocess, so that a llama.cpp build using instructions the CPU cannot execute
(the AMX ``tilezero`` of issue 7) is reported as a failed check naming the cause, not as a crash of
the caller.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.settings import Settings

#: Minimum Python version (pyproject.toml's ``requires-python``).
MIN_PYTHON = (3, 11)
#: The project's source checkout: where ``constraints.txt`` and ``.venv`` live.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Written by scripts/install next to the installed llama-cpp-python: the version and build flags.
BUILD_STAMP = "llama-cpp-build.txt"
REBUILD_FIX = f"rebuild it portably: rm -f .venv/{BUILD_STAMP} && scripts/install"

#: Intel AMX (Advanced Matrix Extensions) instruction mnemonics, as objdump prints them.
AMX_MNEMONICS = frozenset({
    "ldtilecfg", "sttilecfg", "tilerelease", "tilezero", "tileloadd", "tileloaddt1", "tilestored",
    "tdpbssd", "tdpbsud", "tdpbusd", "tdpbuud", "tdpbf16ps", "tdpfp16ps", "tcmmimfp16ps", "tcmmrlfp16ps",
})
_INSN = re.compile(r"^\s*[0-9a-f]+:\s+([a-z][a-z0-9.]*)")


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report.

    Attributes:
        name: What was checked.
        status: ``ok``, ``warn``, ``fail`` or ``skip``.
        detail: What was found.
        fix: What to do about it (empty when ``ok``).
    """

    name: str
    status: str
    detail: str
    fix: str = ""


# --- llama.cpp build ---------------------------------------------------------------------------


def amx_instructions(objdump_lines: Iterable[str]) -> set[str]:
    """The AMX instruction mnemonics in a disassembly.

    Args:
        objdump_lines: Lines of ``objdump -d --no-show-raw-insn`` output.

    Returns:
        The AMX mnemonics found (empty when the code has none).

    Example:
        >>> amx_instructions(["  4f2a10:\\ttilezero %tmm0", "  4f2a15:\\tvpaddd %ymm1,%ymm2,%ymm3"])
        {'tilezero'}
    """
    found = set()
    for line in objdump_lines:
        m = _INSN.match(line)
        if m and m.group(1) in AMX_MNEMONICS:
            found.add(m.group(1))
    return found


def scan_for_amx(library: Path, objdump: str = "objdump") -> set[str]:
    """Disassemble one shared library with objdump and return the AMX mnemonics in it.

    Raises:
        FileNotFoundError: ``objdump`` is not installed.
        subprocess.CalledProcessError: objdump failed on the file.
    """
    proc = subprocess.Popen([objdump, "-d", "--no-show-raw-insn", str(library)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    found = amx_instructions(proc.stdout)
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args, stderr=err)
    return found


def llama_cpp_dir() -> Path | None:
    """The installed ``llama_cpp`` package directory (not imported), or None."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def ggml_libraries(package_dir: Path | None = None) -> list[Path]:
    """The ggml shared libraries (``libggml*.so*``) shipped inside the llama_cpp package."""
    package_dir = package_dir or llama_cpp_dir()
    if package_dir is None:
        return []
    unique: dict[tuple[int, str], Path] = {}  # wheels hold copies (libggml.so, .so.0, .so.0.x): scan one
    for p in sorted(package_dir.rglob("libggml*.so*"), key=lambda p: (len(p.name), p.name)):
        if p.is_file() and not p.is_symlink():
            unique.setdefault((p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()), p)
    return sorted(unique.values())


def build_stamp() -> str | None:
    """What scripts/install recorded about the installed llama-cpp-python build, or None."""
    path = Path(sys.prefix) / BUILD_STAMP
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


#: Run by :func:`probe_model` in a fresh interpreter: load the model, generate, print one JSON line.
PROBE_SCRIPT = r"""
import json, sys, time
path, n_threads, n_gen = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=512, n_threads=n_threads, n_batch=256, seed=0, verbose=False)
except Exception as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    sys.exit(3)
prompt = llm.tokenize(("The assistant answers questions about documents and cites its sources. " * 8).encode(), add_bos=True)
t0 = time.perf_counter()
gen = llm.generate(prompt, temp=0.0)
first = next(gen)
t1 = time.perf_counter()
for _ in range(n_gen - 1):
    next(gen)
t2 = time.perf_counter()
print(json.dumps({"prompt_tokens": len(prompt), "generated": n_gen, "prompt_tps": len(prompt) / (t1 - t0),
                  "gen_tps": (n_gen - 1) / (t2 - t1) if n_gen > 1 else None, "first_token": first}))
"""


@dataclass(frozen=True)
class ProbeResult:
    """What happened when the model was run in a subprocess.

    Attributes:
        ok: A token was generated and the process exited normally.
        message: One line: the speeds when ``ok``, else the cause.
        prompt_tps: Prompt-processing tokens/s (None when it failed).
        gen_tps: Generation tokens/s (None when it failed or generated one token).
    """

    ok: bool
    message: str
    prompt_tps: float | None = None
    gen_tps: float | None = None


def describe_exit(returncode: int) -> str:
    """Say why a process ended with ``returncode`` (negative: killed by that signal)."""
    if returncode >= 0:
        return f"exited with status {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    if -returncode == signal.SIGILL:
        return (f"crashed with {name} (illegal instruction): the llama.cpp build uses CPU instructions this "
                "machine cannot execute (e.g. AMX or AVX-512 from a native build)")
    return f"was killed by {name}"


def probe_model(model_path: Path, n_threads: int = 2, n_gen: int = 16, timeout: float = 180,
                command: list[str] | None = None) -> ProbeResult:
    """Load a GGUF model in a subprocess and generate ``n_gen`` tokens greedily; measure tokens/s.

    Args:
        model_path: GGUF file.
        n_threads: llama.cpp threads.
        n_gen: Tokens to generate (at least 1).
        timeout: Seconds before the subprocess is killed.
        command: The interpreter command to run the probe with (default: this Python).

    Returns:
        The outcome; a crash (e.g. SIGILL) is a failed result naming the cause, never an exception.
    """
    cmd = (command or [sys.executable]) + ["-c", PROBE_SCRIPT, str(model_path), str(n_threads), str(max(1, n_gen))]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return ProbeResult(False, f"no token within {timeout:.0f} s")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    out = json.loads(lines[-1]) if lines else {}
    if proc.returncode == 3 and "error" in out:
        return ProbeResult(False, f"llama.cpp could not load {model_path} ({out['error'][:200]})")
    if proc.returncode != 0 or "generated" not in out:
        tail = " ".join(proc.stderr.strip().splitlines()[-2:])[:300]
        return ProbeResult(False, f"the model process {describe_exit(proc.returncode)}" + (f": {tail}" if tail else ""))
    gen = f", generation {out['gen_tps']:.1f} tokens/s" if out.get("gen_tps") else ""
    return ProbeResult(True, f"{out['generated']} tokens generated; prompt {out['prompt_tps']:.1f} tokens/s{gen} "
                             f"(n_threads={n_threads})", out["prompt_tps"], out.get("gen_tps"))


def check_build_flags() -> Check:
    """The recorded llama-cpp-python build is portable (no native CPU detection, no AMX)."""
    name = "llama.cpp build flags"
    stamp = build_stamp()
    if stamp is None:
        return Check(name, "warn", f"no record of how llama-cpp-python was built (.venv/{BUILD_STAMP})",
                     "install it with scripts/install, which builds it portably and records the flags")
    flags = stamp.split("CMAKE_ARGS=", 1)[-1]
    if "GGML_NATIVE=OFF" not in flags or re.search(r"GGML_AMX\w*=ON|GGML_NATIVE=ON", flags):
        return Check(name, "fail", f"not portable: {flags}", REBUILD_FIX)
    return Check(name, "ok", stamp)


def check_no_amx() -> Check:
    """No AMX instruction in the installed ggml libraries (objdump)."""
    name = "llama.cpp has no AMX code"
    libs = ggml_libraries()
    if not libs:
        return Check(name, "fail", "no libggml*.so in the llama_cpp package", "run scripts/install")
    objdump = shutil.which("objdump")
    if objdump is None:
        return Check(name, "warn", "objdump not found, so the build was not inspected",
                     "apt-get install binutils (scripts/install does it when run as root)")
    found: dict[str, set[str]] = {}
    for lib in libs:
        try:
            if hits := scan_for_amx(lib, objdump):
                found[lib.name] = hits
        except subprocess.CalledProcessError as exc:
            return Check(name, "fail", f"objdump failed on {lib.name}: {exc.stderr.strip()[:200]}", REBUILD_FIX)
    if found:
        detail = "; ".join(f"{lib}: {', '.join(sorted(h))}" for lib, h in found.items())
        return Check(name, "fail", f"AMX instructions found ({detail})", REBUILD_FIX)
    return Check(name, "ok", f"{len(libs)} libraries disassembled: " + ", ".join(p.name for p in libs))


def check_model_runs(settings: Settings) -> Check:
    """The configured GGUF loads and generates in a subprocess (llamacpp backend only)."""
    name = "model generates"
    if settings.llm_backend != "llamacpp":
        return Check(name, "skip", f"llm_backend is {settings.llm_backend!r}, not the in-process llama.cpp")
    from assistant.llm import ModelUnavailableError, check_model_file

    try:
        path = check_model_file(settings)
    except ModelUnavailableError as exc:
        return Check(name, "fail", str(exc), "run scripts/install, or set ASSISTANT_MODEL_PATH to a .gguf file")
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(name, "fail", "llama-cpp-python is not installed", "run scripts/install")
    result = probe_model(path, n_threads=settings.n_threads)
    if result.ok:
        return Check(name, "ok", f"{path.name}: {result.message}")
    if "could not load" in result.message:
        fix = "set ASSISTANT_MODEL_PATH (or model_path) to a GGUF model file, or unset it for the bundled SmolLM2"
    elif "illegal instruction" in result.message:
        fix = REBUILD_FIX
    else:
        fix = "run scripts/install; if it persists, " + REBUILD_FIX
    return Check(name, "fail", result.message, fix)


# --- packages ----------------------------------------------------------------------------------


#: Modules the assistant imports at run time (found without importing them).
KEY_MODULES = ("llama_cpp", "chromadb", "langchain_core", "langchain_chroma", "onnxruntime", "tokenizers",
               "tiktoken", "spacy", "gradio", "fastapi", "uvicorn", "typer", "rich")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: Path) -> dict[str, str]:
    """The ``name==version`` pins of a constraints file, by canonical name."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)", line.strip())
        if m:
            pins[_canonical(m.group(1))] = m.group(2)
    return pins


def check_packages(constraints: Path | None = None) -> Check:
    """Every requirement of the project is installed, at the version pinned in ``constraints.txt``."""
    name = "packages"
    constraints = constraints or PROJECT_ROOT / "constraints.txt"
    try:
        required = importlib.metadata.requires("grounded-assistant") or []
    except importlib.metadata.PackageNotFoundError:
        return Check(name, "fail", "the project is not installed", "run scripts/install")
    names = {_canonical(re.split(r"[\s<>=!~;\[(]", r, maxsplit=1)[0]) for r in required if "extra ==" not in r}
    missing = sorted(n for n in names if not _installed_version(n))
    missing += [f"module {m}" for m in KEY_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        return Check(name, "fail", "not installed: " + ", ".join(missing), "run scripts/install")
    if not constraints.is_file():
        return Check(name, "warn", f"{len(names)} requirements installed; no {constraints.name} to compare versions with",
                     "run from a source checkout installed by scripts/install")
    pins = read_constraints(constraints)
    wrong = [f"{n} {v} (pinned {pins[n]})" for n in sorted(pins) if (v := _installed_version(n)) and v != pins[n]]
    if wrong:
        return Check(name, "fail", "versions differ from constraints.txt: " + ", ".join(wrong[:6])
                     + (f" and {len(wrong) - 6} more" if len(wrong) > 6 else ""), "run scripts/install")
    return Check(name, "ok", f"{len(names)} requirements installed, every installed pin matches constraints.txt "
                             f"(llama-cpp-python {_installed_version('llama-cpp-python')})")


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


# --- data, index, port, network ----------------------------------------------------------------


def check_python() -> Check:
    """The interpreter is recent enough."""
    v = sys.version_info
    found = f"Python {v.major}.{v.minor}.{v.micro} ({sys.executable})"
    if (v.major, v.minor) < MIN_PYTHON:
        return Check("Python", "fail", found, f"install Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]}+ and rerun scripts/install")
    return Check("Python", "ok", found)


def check_embedding_model(settings: Settings) -> Check:
    """The embedding model's files (ONNX weights, tokenizer) are installed."""
    name = "embedding model files"
    if settings.embedding_backend != "minilm":
        return Check(name, "skip", f"embedding_backend is {settings.embedding_backend!r}")
    from index.embeddings import MiniLMOnnxEmbeddings
    from index.errors import ModelNotFoundError

    try:
        emb = MiniLMOnnxEmbeddings()
    except ModelNotFoundError as exc:
        return Check(name, "fail", str(exc), "run scripts/install")
    return Check(name, "ok", f"{Path(emb.model_path).name} ({Path(emb.model_path).parent.name}), "
                             f"{Path(emb.tokenizer_path).name} ({Path(emb.tokenizer_path).parent.parent.name})")


def check_data_dir(settings: Settings) -> Check:
    """``data_dir`` exists (or can be created) and is writable."""
    d = settings.data_dir
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".doctor-"):
            pass
    except OSError as exc:
        return Check("data directory writable", "fail", f"{d}: {exc.strerror or exc}",
                     "give a writable directory with --data-dir or ASSISTANT_DATA_DIR")
    return Check("data directory writable", "ok", str(d.resolve()))


def _empty_index_fix(settings: Settings) -> str:
    from assistant.composition import is_default_location

    if is_default_location(settings):
        return "none needed: ui, serve and ask index the bundled article on start (or run: assistant index FILE)"
    return f"run: assistant index FILE ... --data-dir {settings.data_dir} (only the default location is filled on its own)"


def check_index(settings: Settings) -> Check:
    """The index: present, its chunk count, built with the configured embedding model."""
    name = "index"
    where = settings.chroma_url or settings.persist_dir
    if not settings.chroma_url and not (settings.persist_dir / "chroma.sqlite3").is_file():
        return Check(name, "warn", f"no index in {settings.persist_dir} yet",
                     _empty_index_fix(settings))
    from assistant.composition import build_store
    from index.errors import EmbeddingMismatchError, ModelNotFoundError, StoreError

    try:
        store = build_store(settings)
        count = store.count()
    except EmbeddingMismatchError as exc:
        return Check(name, "fail", str(exc).split(". Rebuild")[0], "assistant index --rebuild (or set embedding_backend back)")
    except ModelNotFoundError as exc:
        return Check(name, "fail", f"cannot open it: {exc}", "run scripts/install")
    except StoreError as exc:
        if not settings.chroma_url:
            return Check(name, "fail", f"cannot open {where}: {type(exc).__name__}: {exc}"[:300], "assistant index --rebuild")
        return Check(name, "fail", str(exc).split(". ")[0][:300], "start the Chroma server (chroma run) or correct chroma_url")
    except Exception as exc:  # noqa: BLE001 - a broken Chroma directory: report, do not crash
        return Check(name, "fail", f"cannot open {where}: {type(exc).__name__}: {exc}"[:300],
                     "assistant index --rebuild")
    if count == 0:
        return Check(name, "warn", f"empty ({where})",
                     _empty_index_fix(settings))
    sources = store.sources()
    return Check(name, "ok", f"{count} chunks from {len(sources)} file(s), embedding model {store.model_id}")


def check_port(settings: Settings) -> Check:
    """Nothing listens on the configured host and port yet."""
    name = f"port {settings.port} free"
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return Check(name, "fail", f"host {settings.host!r}: {exc}", "set --host / ASSISTANT_HOST to a local address")
    family, _, _, _, addr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(addr)
        except OSError as exc:
            return Check(name, "fail", f"{settings.host}:{settings.port}: {exc.strerror or exc}",
                         "stop the program using it, or choose another port with --port / ASSISTANT_PORT")
    return Check(name, "ok", f"{settings.host}:{settings.port}")


#: Environment each library reads to stay offline, and the value that keeps it offline.
OFFLINE_ENV = {"HF_HUB_OFFLINE": {"1", "true", "yes", "on"},
               "ANONYMIZED_TELEMETRY": {"false", "0", "no", "off"},
               "GRADIO_ANALYTICS_ENABLED": {"false", "0", "no", "off"}}


def check_offline(settings: Settings, environ: dict[str, str] | None = None) -> Check:
    """Nothing the configuration runs needs the network (telemetry off, no hub downloads, local model)."""
    name = "no network needed"
    env = os.environ if environ is None else environ
    problems = [f"{k}={env.get(k)!r}" for k, ok in OFFLINE_ENV.items() if str(env.get(k, "")).strip().lower() not in ok]
    if problems:
        return Check(name, "fail", "set to go online: " + ", ".join(problems),
                     "unset them (the assistant sets HF_HUB_OFFLINE=1, ANONYMIZED_TELEMETRY=False, "
                     "GRADIO_ANALYTICS_ENABLED=False by default)")
    if settings.llm_backend in ("openai", "ollama"):
        return Check(name, "warn", f"llm_backend {settings.llm_backend!r} calls a server at {settings.base_url or 'its default URL'}",
                     "use the default llamacpp backend to run fully offline")
    try:
        import onnxruntime

        onnxruntime.disable_telemetry_events()  # its events; the uploader is off by ORT_DISABLE_TELEMETRY (index.offline)
    except Exception:  # noqa: BLE001, S110 - absence is reported by the packages check
        pass
    return Check(name, "ok", "hub offline, Chroma telemetry and Gradio analytics off, local models; "
                             "onnxruntime telemetry off (ORT_DISABLE_TELEMETRY=1)")


def run_checks(settings: Settings, model: bool = True) -> list[Check]:
    """Run every check, cheapest first.

    Args:
        settings: The settings the assistant would run with.
        model: Also run the model in a subprocess (a second or two).

    Returns:
        One :class:`Check` per line of the report.
    """
    checks = [check_python(), check_packages(), check_build_flags(), check_no_amx()]
    if model:
        checks.append(check_model_runs(settings))
    checks += [check_embedding_model(settings), check_data_dir(settings), check_index(settings),
               check_port(settings), check_offline(settings)]
    return checks


STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def report(checks: list[Check]) -> int:
    """Print the checks as a table; return the exit code (1 if any failed, else 0)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="assistant doctor", show_lines=False)
    for col in ("check", "status", "found", "fix"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.name, f"[{STYLE[c.status]}]{c.status}[/]", c.detail, c.fix)
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(table)
    failed = [c for c in checks if c.status == "fail"]
    for c in failed:  # unwrapped, so that logs and terminals show each cause and fix in full
        console.print(f"FAIL {c.name}: {c.detail}\n     fix: {c.fix}", soft_wrap=True, markup=False, highlight=False)
    console.print(f"[bold red]{len(failed)} check(s) failed: {', '.join(c.name for c in failed)}[/]" if failed
                  else "[green]All checks passed.[/]")
    return 1 if failed else 0
