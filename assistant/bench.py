"""``assistant bench``: the assistant against a plain LangChain RAG chain, and the index at scale.

One run measures, on this machine:

- **Answers.** For each answer mode (default extractive, auto, generative) and for a plain LangChain
  RAG chain over the *same* Chroma collection, embeddings and chat model (``build_llm(settings)``,
  same sampling settings), p50/p95 of time to first output and of total time per question, and the
  ratio assistant / plain chain. First output is, for the assistant, the first ``sentence`` event of
  :meth:`assistant.service.Assistant.stream` (a verified sentence, what the user first sees; the
  ``final`` event when it abstains), and for the chain the first non-empty chunk of ``chain.stream``.
  The model's own first token (``Answer.timings.first_token_s``, counted from the model call) is
  reported beside it when the mode calls the model.
- **Scale.** At each corpus size (chunks of a real text corpus, e.g. Debian's ``python3-doc`` HTML
  extracted with BeautifulSoup and split by the project's chunker): indexing throughput
  (chunks/s; share of indexing time spent embedding), retrieval latency p50/p95 of the hybrid
  retriever and of the dense search alone, process RSS (``VmRSS``/``VmHWM`` of ``/proc/self/status``)
  and the store's size on disk. Each size is indexed into its own temporary store; indexing stops at
  ``--max-index-seconds`` and the full time is then extrapolated (labelled ``extrapolated``).

All figures go to a JSON file (``--out``), with charts (PNG) when matplotlib is installed.
Percentiles: :func:`assistant.evaluation.stats.percentile` (linear interpolation).
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer
from langchain_core.embeddings import Embeddings

from assistant.bench_report import load_line, scale_line, compare, summary, write_charts

DEFAULT_QUESTIONS = Path("../shared/eval/dev-questions.jsonl")
DEFAULT_CORPUS = Path("/usr/share/doc/python3/html")
CORPUS_SUFFIXES = {".html", ".htm", ".txt", ".md", ".rst", ".py"}
PLAIN_PROMPT = ("Answer from the passages below. If they do not contain the answer, say so.\n\n"
                "{context}\n\nQuestion: {question}")
MODES = ("extractive", "auto", "generative")
DEFAULT_CACHE = Path("~/.cache/assistant-bench/embeddings.sqlite").expanduser()


def _spread(values: list[float]) -> dict:
    """``{"n", "p50", "p95"}`` of ``values`` in seconds (``None`` percentiles when empty)."""
    from assistant.evaluation.stats import percentile

    return {"n": len(values), "p50": percentile(values, 50) if values else None,
            "p95": percentile(values, 95) if values else None}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def memory_mb() -> dict:
    """This process's resident memory now and at its peak, in MB (``/proc/self/status``; None elsewhere)."""
    out = {"rss_mb": None, "peak_rss_mb": None}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out["rss_mb" if key == "VmRSS" else "peak_rss_mb"] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return out


def disk_mb(path: Path) -> float:
    """Bytes of every file under ``path``, in MB."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6


class TimedEmbeddings(Embeddings):
    """Wraps an embedding backend and adds up the seconds spent in ``embed_documents``."""

    def __init__(self, inner: Embeddings):
        self.inner = inner
        self.model_id = getattr(inner, "model_id", type(inner).__name__)
        self.seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        t = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - t

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


# -- answers ----------------------------------------------------------------------------------------

def plain_chain(settings, store, llm):  # noqa: ANN001, ANN201 - a LangChain runnable
    """``{"context": retriever | format, "question": passthrough} | prompt | llm | parser`` over the
    store's Chroma collection (top 4 by cosine similarity), with no verification."""
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    vectors = Chroma(collection_name=settings.collection, embedding_function=store.embeddings,
                     persist_directory=str(settings.persist_dir.resolve()),
                     client_settings=ChromaSettings(anonymized_telemetry=False))
    retriever = vectors.as_retriever(search_kwargs={"k": 4})

    def format_docs(docs) -> str:  # noqa: ANN001
        return "\n\n".join(d.page_content for d in docs)

    prompt = ChatPromptTemplate.from_messages([("human", PLAIN_PROMPT)])
    return {"context": retriever | format_docs, "question": RunnablePassthrough()} | prompt | llm | StrOutputParser()


def time_plain(chain, questions: list[str]) -> dict:  # noqa: ANN001
    """First non-empty chunk and total seconds of ``chain.stream`` per question."""
    first, total = [], []
    for q in questions:
        t0 = time.perf_counter()
        t_first = None
        for piece in chain.stream(q):
            if t_first is None and piece:
                t_first = time.perf_counter() - t0
        total.append(time.perf_counter() - t0)
        first.append(t_first if t_first is not None else total[-1])
    return {"first_output_s": _spread(first), "total_s": _spread(total), "samples": {"first": first, "total": total}}


def time_assistant(assistant, questions: list[str]) -> dict:  # noqa: ANN001
    """First ``sentence`` event (else ``final``), total, and model first token seconds per question."""
    first, total, model_first = [], [], []
    for q in questions:
        t0 = time.perf_counter()
        t_first = None
        answer = None
        for event in assistant.stream(q):
            if t_first is None and event.kind in ("sentence", "final"):
                t_first = time.perf_counter() - t0
            if event.kind == "final":
                answer = event.answer
        total.append(time.perf_counter() - t0)
        first.append(t_first)
        if answer is not None and answer.timings.first_token_s is not None:
            model_first.append(answer.timings.first_token_s)
    return {"first_output_s": _spread(first), "total_s": _spread(total), "model_first_token_s": _spread(model_first),
            "samples": {"first": first, "total": total}}


def bench_answers(settings, questions: list[str], modes: list[str]) -> dict:  # noqa: ANN001
    """Time every mode and the plain chain on ``questions`` over the index in ``settings.data_dir``."""
    from assistant.composition import build_assistant, build_store, ensure_indexed
    from assistant.llm import build_llm

    store = build_store(settings)
    ensure_indexed(settings, store)
    llm = build_llm(settings)
    chain = plain_chain(settings, store, llm)
    assistant = build_assistant(settings, store=store, llm=llm)
    chain.invoke(questions[0])  # warm-up, untimed: model load, first embedding, lexical index, evidence ranker
    assistant.settings = settings.model_copy(update={"answer_mode": "extractive"})
    for _ in assistant.stream(questions[0]):
        pass
    out: dict = {"plain_chain": time_plain(chain, questions)}
    for mode in modes:
        assistant.settings = settings.model_copy(update={"answer_mode": mode})
        out[mode] = time_assistant(assistant, questions)
    plain = out["plain_chain"]
    for mode in modes:
        out[mode]["ratio_to_plain"] = {
            f"{what}_{p}": _ratio(out[mode][what][p], plain[what][p])
            for what in ("first_output_s", "total_s") for p in ("p50", "p95")}
    return out


# -- scale ------------------------------------------------------------------------------------------

def corpus_text(path: Path) -> str:
    """Plain text of a corpus file: HTML through BeautifulSoup (scripts, styles, navigation dropped)."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() not in (".html", ".htm"):
        return raw
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "nav", "header", "footer"]):
        tag.decompose()
    for tag in soup.select("div.related, div.sphinxsidebar, div.footer"):
        tag.decompose()
    for tag in soup.select("a.headerlink"):
        tag.decompose()
    body = soup.select_one("div.body") or soup
    lines = (" ".join(line.split()) for line in body.get_text().splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _corpus_files(corpus: Path) -> list[Path]:
    """Text files of one corpus folder, sorted; folders whose name starts with ``_`` skipped."""
    return sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
                  and not any(part.startswith("_") for part in p.relative_to(corpus).parts[:-1]))


def _texts(files: list[Path], workers: int):  # noqa: ANN202 - an iterator of (file, text)
    """``(file, corpus_text(file))`` in the order of ``files``; with ``workers`` > 1 the HTML is
    parsed by that many processes (``spawn``: nothing of this process is inherited)."""
    if workers <= 1:
        yield from ((f, corpus_text(f)) for f in files)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield from zip(files, pool.map(corpus_text, files, chunksize=4))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def corpus_chunks(corpora: Path | list[Path], chunker, limit: int,  # noqa: ANN001
                  workers: int = 1) -> tuple[list, dict]:
    """Up to ``limit`` chunks of the corpus files (each folder's files in sorted order, folders in
    the order given), and what was read. ``workers`` processes extract the text of HTML pages
    (BeautifulSoup, about 0.1 s a page here: 3,700 pages took 12 min in one process); the chunks are
    the same for any number of workers.

    Folders whose name starts with ``_`` are skipped: in a Sphinx build (python3-doc, linux-doc)
    they hold the reST sources of the HTML pages (``_sources``) and static files, which would index
    each page twice. With one folder a chunk's source is the file's path relative to it; with
    several, relative to their common parent (``python3/html/library/os.html``), so that sources of
    two folders never collide.

    Raises:
        typer.BadParameter: the corpus folders hold no readable text file.
    """
    from index.loader import has_visible_text

    folders = [corpora] if isinstance(corpora, Path) else list(corpora)
    common = Path(os.path.commonpath([str(g.resolve()) for g in folders])) if len(folders) > 1 else None
    chunks: list = []
    used = found = 0
    t0 = time.perf_counter()
    for folder in folders:
        if len(chunks) >= limit:
            break  # no file listing or worker pool for a folder that is not read
        files = _corpus_files(folder)
        found += len(files)
        texts = _texts(files, workers)
        for f, text in texts:
            if not has_visible_text(text):
                continue
            used += 1
            rel = f.relative_to(folder) if common is None else f.resolve().relative_to(common)
            chunks.extend(chunker.split(str(rel), text))
            if len(chunks) >= limit:
                texts.close()  # stops the workers without waiting for the next page
                break
    if not chunks:
        raise typer.BadParameter(f"{', '.join(map(str, folders))} holds no text file "
                                 f"({', '.join(sorted(CORPUS_SUFFIXES))}); give --corpus a folder of documents "
                                 "(e.g. apt-get install python3-doc).")
    return chunks[:limit], {"path": ", ".join(map(str, folders)), "files_read": used, "files_found": found,
                            "chunks": min(len(chunks), limit), "chunking_s": time.perf_counter() - t0,
                            "text_workers": workers}


def _time_retrieval(store, settings, queries: list[str]) -> dict:  # noqa: ANN001
    """Hybrid (dense + BM25) and dense-only retrieval seconds per query; the first hybrid query,
    which opens the store and the lexical index, is reported apart."""
    from assistant.retrieval import HybridRetriever

    retriever = HybridRetriever(store)
    t = time.perf_counter()
    retriever.search(queries[0], settings.top_k)
    first_query_s = time.perf_counter() - t
    hybrid, dense = [], []
    for q in queries:
        t = time.perf_counter()
        retriever.search(q, settings.top_k)
        hybrid.append(time.perf_counter() - t)
        t = time.perf_counter()
        store.search(q, settings.top_k)
        dense.append(time.perf_counter() - t)
    return {"first_query_s": first_query_s, "hybrid_s": _spread(hybrid), "dense_s": _spread(dense)}


def _extrapolate(size: int, rate, from_cache: int, embed_rate, embed_s: float, step_s: float,  # noqa: ANN001
                 complete: bool, step_chunks: int = 0) -> float | None:
    """Seconds indexing ``size`` chunks would take: at this step's rate, or, when part of the step
    came from the cache, as ``size`` x (this step's seconds per chunk outside embedding + 1 / the
    model's chunks/s): every chunk is then written as in this step and embedded at the model's rate."""
    if complete or not rate:
        return None
    if from_cache and embed_rate and step_chunks:
        return size * ((step_s - embed_s) / step_chunks + 1.0 / embed_rate)
    return size / rate


def bench_scale(chunks: list, sizes: list[int], settings, queries: list[str], work: Path,  # noqa: ANN001
                budget_s: float, echo=None, cache: Path | None = None) -> list[dict]:  # noqa: ANN001
    """Index ``chunks`` into one fresh store under ``work`` up to each size in turn (ascending), and
    measure at each: indexing of that step, retrieval, RSS, disk.

    Indexing goes through :meth:`index.store.ChunkStore.replace_source` (embed, then upsert), one
    source at a time, with every chunk of the source up to the size (chunks stored at an earlier
    size are not embedded again). Once ``budget_s`` seconds of indexing have passed, indexing stops;
    the row says how many chunks were indexed and the time the full size would take at the rate
    measured so far (``extrapolated_index_s``), and later sizes are not measured. A size larger than
    the corpus is indexed as far as the corpus goes (``corpus_exhausted``), its full time
    extrapolated the same way, and later sizes are not measured.

    With ``cache`` (a SQLite file, :class:`index.embedding_cache.CachedEmbeddings`), chunks embedded
    by an earlier run are read instead of embedded: the row counts them (``from_cache``), its
    ``chunks_per_s`` is then the store's write rate, and ``embed_chunks_per_s`` is the model's rate
    in this run, else the one the cache recorded when it embedded them (``embed_rate_source``).
    """
    from index.embedding_cache import CachedEmbeddings
    from index.embeddings import build_embeddings
    from index.store import ChunkStore

    emb = TimedEmbeddings(build_embeddings(settings.embedding_backend))
    cached = CachedEmbeddings(emb, cache) if cache else None
    persist = work / "scale-chroma"
    store = ChunkStore(persist, cached or emb, settings.collection)
    rows: list[dict] = []
    spent = 0.0
    done = 0
    for size in sizes:
        part = chunks[:size]
        by_source: dict[str, list] = {}
        for c in part:
            by_source.setdefault(c.source, []).append(c)
        todo = list(dict.fromkeys(c.source for c in part[done:]))
        embed_before, t0 = emb.seconds, time.perf_counter()
        hits_before, misses_before = (cached.hits, cached.misses) if cached else (0, 0)
        for source in todo:
            store.replace_source(source, by_source[source])
            if spent + time.perf_counter() - t0 > budget_s and source != todo[-1]:
                break
        step_s = time.perf_counter() - t0
        spent += step_s
        step_chunks = store.count() - done
        done += step_chunks
        embed_s = emb.seconds - embed_before
        rate = step_chunks / step_s if step_s else None
        complete = done >= len(part)
        exhausted = len(part) < size  # the corpus holds fewer chunks than this size
        from_cache = cached.hits - hits_before if cached else 0
        embedded = cached.misses - misses_before if cached else step_chunks
        if embedded and embed_s:
            embed_rate, rate_source = embedded / embed_s, "this run"
        else:
            embed_rate, rate_source = (cached.recorded_rate(), "cache record") if cached else (None, None)
        rows.append({"size": size, "available": len(part), "indexed": done, "complete": complete,
                     "step_chunks": step_chunks, "step_index_s": step_s, "step_embed_s": embed_s,
                     "chunks_per_s": rate, "embed_share": embed_s / step_s if step_s else None,
                     "embedded": embedded, "from_cache": from_cache, "embed_chunks_per_s": embed_rate,
                     "embed_rate_source": rate_source,
                     "corpus_exhausted": exhausted,
                     "extrapolated_index_s": _extrapolate(size, rate, from_cache, embed_rate, embed_s, step_s,
                                                          complete and not exhausted, step_chunks),
                     "retrieval": _time_retrieval(store, settings, queries), **memory_mb(), "disk_mb": disk_mb(persist)})
        if echo:
            echo(rows[-1])
        if not complete or exhausted:
            break
    store.reopen()  # closes the client
    if cached:
        cached.close()
    return rows



# -- concurrency ------------------------------------------------------------------------------------

def bench_concurrency(users: list[int], modes: list[str], seconds: float, work: Path, env: dict[str, str],
                      echo=None) -> dict:  # noqa: ANN001
    """``users`` concurrent users through the HTTP API of a real ``assistant serve`` (uvicorn), per answer mode.

    One server per mode, in turn (default configuration plus ``ASSISTANT_ANSWER_MODE`` and ``env``,
    the bundled article indexed once in ``work/serve``), each user count for ``seconds`` in turn
    (:func:`assistant.loadtest.run_users`).

    Returns:
        ``{mode: [row per user count]}``; a row holds answers/s, latency p50/p95, errors, the 503s
        with their Retry-After and the queue positions streaming users were shown.

    Raises:
        RuntimeError: a server did not start (message ends with its log).
    """
    from assistant.loadtest import run_users, start_server, stop_server

    out: dict = {}
    for mode in modes:
        data = work / "serve"
        proc, url = start_server(data, {**env, "ASSISTANT_ANSWER_MODE": mode}, work / f"serve-{mode}.log")
        try:
            run_users(url, 1, min(seconds, 5.0))  # warm-up, untimed: model load, first embedding, lexical index
            out[mode] = []
            for n in users:
                out[mode].append(run_users(url, n, seconds))
                if echo:
                    echo(mode, out[mode][-1])
        finally:
            stop_server(proc)
    return out


def register(app: typer.Typer) -> None:
    """Add the ``bench`` command to ``app``."""

    @app.command()
    def bench(
        questions: Annotated[Path, typer.Option("--questions", help="JSON Lines question set.")] = DEFAULT_QUESTIONS,
        limit: Annotated[int, typer.Option("--limit", min=1, help="First N questions for the answer timings.")] = 10,
        modes: Annotated[str, typer.Option("--modes", help="Answer modes, comma-separated.")] = ",".join(MODES),
        corpus: Annotated[Optional[list[Path]], typer.Option(
            "--corpus", help="Folder of documents for the scale runs (repeat for several; "
                             "default /usr/share/doc/python3/html).")] = None,
        sizes: Annotated[str, typer.Option("--sizes", help="Corpus sizes in chunks, comma-separated.")] = "1000,10000",
        queries: Annotated[int, typer.Option("--queries", min=2, help="Retrieval queries per size.")] = 40,
        max_index_seconds: Annotated[float, typer.Option(
            "--max-index-seconds", help="Stop indexing a size after this long and extrapolate.")] = 300.0,
        cache: Annotated[Optional[Path], typer.Option(
            "--cache", help="SQLite file of chunk vectors reused across runs (keyed by model and chunk text).")] = DEFAULT_CACHE,
        no_cache: Annotated[bool, typer.Option("--no-cache", help="Embed every chunk; do not read or write the cache.")] = False,
        skip_answers: Annotated[bool, typer.Option("--skip-answers", help="No answer timings.")] = False,
        users: Annotated[str, typer.Option("--users", help="Concurrent users through the HTTP API, "
                                           "comma-separated (empty: no load runs).")] = "1,4,16",
        load_modes: Annotated[str, typer.Option("--load-modes", help="Answer modes of the load runs.")] = "extractive,generative",
        load_seconds: Annotated[float, typer.Option("--load-seconds", min=1, max=900,
                                                    help="Seconds per user count.")] = 60.0,
        quick: Annotated[bool, typer.Option("--quick", help="Small and fast (what CI runs): 3 questions, "
                                            "sizes 100,200, 3 queries, 1 and 2 users for 3 s.")] = False,
        compare_runs: Annotated[Optional[tuple[Path, Path]], typer.Option(
            "--compare", help="Print every figure of two bench.json files and the ratio b/a, then exit.")] = None,
        out: Annotated[Optional[Path], typer.Option("--out", help="Folder for bench.json and charts "
                                                    "(default artifacts/bench/<UTC time>).")] = None,
        data_dir: Annotated[Optional[Path], typer.Option(
            "--data-dir", help="Index for the answer timings (default: a temporary one with the bundled article).")] = None,
        profile: Annotated[Optional[str], typer.Option("--profile", help="Settings profile name or TOML file.")] = None,
        llm: Annotated[Optional[str], typer.Option("--llm", help="LLM backend.")] = None,
        embedding: Annotated[Optional[str], typer.Option("--embedding", help="Embedding backend.")] = None,
    ) -> None:
        """Time the assistant against a plain LangChain RAG chain, and indexing/retrieval at several corpus sizes."""
        from assistant.cli import _fail, _known_errors, _settings
        from assistant.evaluation.dataset import DatasetError, load_questions

        if compare_runs:
            try:
                a, b = (json.loads(p.read_text(encoding="utf-8")) for p in compare_runs)
            except (OSError, ValueError) as exc:
                raise typer.BadParameter(f"--compare needs two bench.json files: {exc}") from None
            typer.echo("\n".join(compare(a, b)) or "no figure in common")
            return
        if quick:
            limit, sizes, queries, users, load_seconds = min(limit, 3), "100,200", 3, "1,2", 3.0
        try:
            user_list = sorted({int(u) for u in users.split(",") if u.strip()})
        except ValueError:
            raise typer.BadParameter(f"--users {users!r}: give user counts like 1,4,16") from None
        load_mode_list = [m.strip() for m in load_modes.split(",") if m.strip()]
        try:
            size_list = sorted({int(s) for s in sizes.split(",") if s.strip()})
        except ValueError:
            raise typer.BadParameter(f"--sizes {sizes!r}: give chunk counts like 1000,10000") from None
        mode_list = [m.strip() for m in modes.split(",") if m.strip()]
        for option, chosen in (("--modes", mode_list), ("--load-modes", load_mode_list)):
            if bad := [m for m in chosen if m not in ("extractive", "auto", "generative", "select")]:
                raise typer.BadParameter(f"{option}: unknown {bad}; choose from extractive, auto, generative, select")
        try:
            qs = [q.question for q in load_questions(questions).questions]
        except DatasetError as exc:
            raise typer.BadParameter(f"--questions: {exc}") from None
        out = out or Path("artifacts/bench") / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        out.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
        settings = _settings(profile, data_dir=data_dir or work / "answers", llm_backend=llm, embedding_backend=embedding)
        result: dict = {"meta": {
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "load_before": os.getloadavg(),
            "cpus": os.cpu_count(), "machine": platform.platform(), "python": platform.python_version(),
            "questions": str(questions), "limit": limit, "sizes": size_list, "users": user_list,
            "load_modes": load_mode_list, "load_seconds": load_seconds, "command": " ".join(sys.argv),
            "first_output": "assistant: first 'sentence' event of Assistant.stream (else 'final'); "
                            "plain chain: first non-empty chunk of chain.stream; seconds from the call",
            "settings": settings.model_dump(mode="json", include={"llm_backend", "embedding_backend", "n_threads",
                                                                  "temperature", "max_tokens", "top_k", "chunk_size",
                                                                  "prefix_cache", "answer_mode"}),
        }}
        try:
            from assistant.composition import build_chunker

            result["scale"] = []
            if size_list:
                chunks, result["corpus"] = corpus_chunks(
                    corpus or [DEFAULT_CORPUS], build_chunker(settings), max(size_list),
                    workers=1 if quick else (os.cpu_count() or 1))
                result["scale"] = bench_scale(chunks, size_list, settings, qs[:queries], work, max_index_seconds,
                                              echo=lambda row: typer.echo(scale_line(row), err=True),
                                              cache=None if no_cache else cache)
            if not skip_answers:
                result["answers"] = bench_answers(settings, qs[:limit], mode_list)
            if user_list:
                env = {k: v for k, v in (("ASSISTANT_LLM_BACKEND", llm), ("ASSISTANT_EMBEDDING_BACKEND", embedding)) if v}
                result["concurrency"] = bench_concurrency(
                    user_list, load_mode_list, load_seconds, work, env,
                    echo=lambda mode, row: typer.echo(load_line(mode, row), err=True))
        except _known_errors() as exc:
            raise _fail(str(exc)) from None
        except RuntimeError as exc:  # a load-run server that did not start
            raise _fail(str(exc)) from None
        finally:
            shutil.rmtree(work, ignore_errors=True)
        result["meta"]["load_after"] = os.getloadavg()
        result["charts"] = write_charts(result, out) or "matplotlib is not installed: no charts"
        (out / "bench.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
        typer.echo(summary(result))
        typer.echo(f"Wrote {out / 'bench.json'}")
