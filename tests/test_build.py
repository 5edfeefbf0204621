"""The installed llama.cpp build runs on this machine's kind of CPU (issue 7).

A native build on a CPU that advertises AMX compiles ``tilezero`` & co. into ``libggml-cpu.so``; in a VM
that faults (SIGILL) and used to kill the whole test run. These tests inspect the installed libraries
for AMX code, run the model in a subprocess, and check the detector itself on real AMX machine code.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.doctor import (
    AMX_MNEMONICS,
    amx_instructions,
    build_stamp,
    describe_exit,
    ggml_libraries,
    probe_model,
    scan_for_amx,
)

OBJDUMP = shutil.which("objdump")
NEEDS_OBJDUMP = "objdump (binutils) is missing: apt-get install binutils, or rerun scripts/install as root"


def test_installed_ggml_libraries_contain_no_amx_instruction() -> None:
    libs = ggml_libraries()
    assert any(p.name.startswith("libggml-cpu") for p in libs), f"no libggml-cpu*.so under llama_cpp: {libs}"
    if OBJDUMP is None:
        pytest.fail(NEEDS_OBJDUMP)
    found = {lib.name: sorted(hits) for lib in libs if (hits := scan_for_amx(lib, OBJDUMP))}
    assert not found, f"AMX instructions in the llama.cpp build (crashes where AMX faults): {found}; " \
                      "rebuild portably: rm -f .venv/llama-cpp-build.txt && scripts/install"


def test_install_recorded_a_portable_build() -> None:
    stamp = build_stamp()
    assert stamp is not None, "llama-cpp-python was not installed by scripts/install (no .venv/llama-cpp-build.txt)"
    from importlib.metadata import version

    assert stamp.startswith(f"llama-cpp-python=={version('llama-cpp-python')} ")
    assert "-DGGML_NATIVE=OFF" in stamp
    if "x86_64" in stamp:
        for flag in ("-DGGML_AVX512=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"):
            assert flag in stamp


def test_detector_finds_amx_mnemonics_in_objdump_output() -> None:
    listing = """
libggml-cpu.so:     file format elf64-x86-64

0000000000065a40 <ggml_gemm_q4_0_amx>:
   65a40:\tldtilecfg (%rdi)
   65a44:\ttilezero %tmm0
   65a49:\ttileloadd (%rsi,%rdx,1),%tmm1
   65a50:\ttdpbssd %tmm2,%tmm1,%tmm0
   65a55:\ttilestored %tmm0,(%rax,%rcx,1)
   65a5b:\ttilerelease
   65a60:\tvpdpbusd %ymm1,%ymm2,%ymm3
"""
    assert amx_instructions(listing.splitlines()) == {
        "ldtilecfg", "tilezero", "tileloadd", "tdpbssd", "tilestored", "tilerelease"}


def test_detector_ignores_avx2_code_and_symbol_names() -> None:
    listing = [
        "0000000000012340 <ggml_tilezero_helper>:",  # a name, not an instruction
        "   12340:\tvfmadd231ps %ymm1,%ymm2,%ymm0",
        "   12346:\tvpaddd %ymm1,%ymm2,%ymm3",
        "   1234a:\tcall   12000 <tilezero@plt>",
    ]
    assert amx_instructions(listing) == set()


@pytest.mark.skipif(shutil.which("as") is None or OBJDUMP is None, reason=NEEDS_OBJDUMP)
def test_objdump_scan_finds_amx_in_real_machine_code(tmp_path: Path) -> None:
    """Assemble real AMX instructions and find them with the same objdump scan as the build test."""
    src = tmp_path / "amx.s"
    src.write_text(".text\n.globl f\nf:\n  ldtilecfg (%rdi)\n  tilezero %tmm0\n  tdpbf16ps %tmm2, %tmm1, %tmm0\n"
                   "  tilerelease\n  vpaddd %ymm1, %ymm2, %ymm3\n  ret\n")
    obj = tmp_path / "amx.o"
    subprocess.run(["as", "--64", "-o", str(obj), str(src)], check=True, capture_output=True)
    assert scan_for_amx(obj, OBJDUMP) == {"ldtilecfg", "tilezero", "tdpbf16ps", "tilerelease"}
    assert {"tilezero", "tileloadd", "tdpbssd", "tdpbf16ps", "ldtilecfg", "sttilecfg", "tilerelease",
            "tilestored"} <= AMX_MNEMONICS


@pytest.mark.model
def test_default_model_generates_a_token_in_a_subprocess() -> None:
    from assistant.settings import default_model_path

    result = probe_model(default_model_path(), n_threads=2, n_gen=2)
    assert result.ok, f"the default model cannot run here: {result.message}"
    assert result.prompt_tps and result.prompt_tps > 0


def test_a_crash_by_illegal_instruction_is_a_failed_result_naming_the_cause() -> None:
    """What the model probe reports when llama.cpp executes an instruction the CPU refuses."""
    sigill = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)", "--"]
    result = probe_model(Path("unused.gguf"), command=sigill)
    assert not result.ok
    assert "SIGILL" in result.message and "illegal instruction" in result.message
    assert "AMX" in result.message


def test_exit_descriptions() -> None:
    assert describe_exit(1) == "exited with status 1"
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert "illegal instruction" in describe_exit(-4)


# --- the llamacpp backend: our LangChain adapter over llama_cpp.Llama (replaces ChatLlamaCpp) ------


class _FakeLlama:
    """Stands in for llama_cpp.Llama: streams chunks shaped like create_chat_completion's."""

    def __init__(self, tokens: list[str]):
        self.tokens = tokens
        self.calls: list[dict] = []
        self.closed = False
        self.produced = 0

    def reset(self) -> None:
        """The adapter clears the context before each call (no KV prefix reuse)."""

    def create_chat_completion(self, **kwargs):  # noqa: ANN003, ANN201
        self.calls.append(kwargs)

        def chunks():
            try:
                yield {"choices": [{"delta": {"role": "assistant"}, "finish_reason": None}]}
                for t in self.tokens:
                    self.produced += 1
                    yield {"choices": [{"delta": {"content": t}, "finish_reason": None}]}
                yield {"choices": [{"delta": {}, "finish_reason": "stop"}]}
            finally:
                self.closed = True

        return chunks()


def _adapter(tokens: list[str], **fields):  # noqa: ANN003, ANN202
    from assistant.llm import LlamaCppChatModel

    return LlamaCppChatModel(model_path="unused.gguf", client=_FakeLlama(tokens), **fields)


def test_adapter_streams_one_chunk_per_token_with_greedy_parameters() -> None:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    model = _adapter(["Putin", " invited", " him", " [1]."], max_tokens=96, temperature=0.0)
    pieces = [c.content for c in model.stream([SystemMessage("Be brief."), HumanMessage("Who?"),
                                               AIMessage("Putin."), HumanMessage("When?")])]
    assert [p for p in pieces if p] == ["Putin", " invited", " him", " [1]."]
    call = model.client.calls[0]
    assert call["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Who?"},
                                {"role": "assistant", "content": "Putin."}, {"role": "user", "content": "When?"}]
    assert call["stream"] is True and call["max_tokens"] == 96 and call["temperature"] == 0.0
    assert call["repeat_penalty"] == 1.1 and call["stop"] == []  # as ChatLlamaCpp sent them
    assert model.invoke("Who?").content == "Putin invited him [1]."


def test_adapter_stops_generation_when_the_consumer_stops_reading() -> None:
    model = _adapter([f" t{i}" for i in range(50)])
    stream = model.stream("Who?")
    assert [next(stream).content for _ in range(3)] == ["", " t0", " t1"]
    stream.close()
    assert model.client.closed and model.client.produced == 2


def test_adapter_in_a_prompt_chain_passes_the_stop_words() -> None:
    from langchain_core.prompts import ChatPromptTemplate

    model = _adapter(["Paris."])
    chain = ChatPromptTemplate.from_messages([("human", "Capital of {country}?")]) | model.bind(stop=["\n\n"])
    assert chain.invoke({"country": "France"}).content == "Paris."
    assert model.client.calls[0]["messages"] == [{"role": "user", "content": "Capital of France?"}]
    assert model.client.calls[0]["stop"] == ["\n\n"]


@pytest.mark.model
def test_default_backend_is_the_adapter_and_never_imports_langchain_community() -> None:
    code = ("import sys; from assistant.settings import load_settings; from assistant.llm import build_llm, LlamaCppChatModel\n"
            "m = build_llm(load_settings(max_tokens=8)); assert isinstance(m, LlamaCppChatModel)\n"
            "a = m.invoke('Who invited Min Aung Hlaing to Russia?').content; b = m.invoke('Who invited Min Aung Hlaing to Russia?').content\n"
            "assert a and a == b, (a, b)\n"
            "assert not any(k.startswith('langchain_community') for k in sys.modules), 'langchain_community imported'\n"
            "print('ok', repr(a))")
    r = subprocess.run([sys.executable, "-W", "error::DeprecationWarning:langchain_community", "-c", code],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.startswith("ok"), (describe_exit(r.returncode), r.stdout, r.stderr[-2000:])
