"""The start-up and per-record shortcuts change nothing: the same events, on every sample.

* definitions from the cache (pickled, templates compiled when first tried) against
  definitions loaded and compiled afresh;
* records parsed by lark-cython (when installed) against pure-Python Lark;
* the fast paths of ``normalise_message`` and ``read_timestamp`` against the general ones.
"""

from __future__ import annotations

import dataclasses
import pickle
import random
import re
from pathlib import Path
from typing import Any

import pytest

from reformdiag.parse import registry as registry_module
from reformdiag.parse.registry import PURE_ENV, Registry, load_registry
from reformdiag.parse.spec import normalise_message
from reformdiag.parse.timestamps import _read_iso, read_timestamp
from reformdiag.pipeline import Options, analyse

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
BUNDLES = sorted(p for p in SAMPLES.iterdir() if p.is_dir() and not p.name.startswith("_"))


def _has_accelerator() -> bool:
    try:
        import lark_cython  # noqa: F401
    except ImportError:
        return False
    return True


def _outcome(bundle: Path, registry: Registry) -> list[Any]:
    """Every record of the bundle (prefilter off), as plain data: events and unparsed lines."""
    analysis = analyse([bundle], Options(jobs=1, prefilter=False), registry)
    return ([dataclasses.asdict(e) for e in analysis.events]
            + [dataclasses.asdict(r) for r in analysis.inputs])


@pytest.fixture(scope="module")
def pure_registry() -> Registry:
    """Loaded afresh, every template compiled at load, records parsed by pure-Python Lark."""
    mp = pytest.MonkeyPatch()
    mp.setenv(PURE_ENV, "1")
    registry_module._accelerator.cache_clear()
    try:
        reg = load_registry()
        for fmt in reg:
            _ = fmt.record_parser
    finally:
        mp.undo()
        registry_module._accelerator.cache_clear()
    return reg


@pytest.fixture(scope="module")
def reference(pure_registry: Registry) -> dict[str, list[Any]]:
    return {b.name: _outcome(b, pure_registry) for b in BUNDLES}


@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_cached_definitions_give_the_same_events(bundle: Path, reference: dict[str, list[Any]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PURE_ENV, "1")
    registry_module._accelerator.cache_clear()
    try:
        # What parse/defcache.py keeps: no compiled template comes back from the pickle.
        restored = pickle.loads(pickle.dumps(load_registry()))
        assert all(not t._compiled for f in restored for t in f.spec.templates)
        assert _outcome(bundle, restored) == reference[bundle.name]
    finally:
        registry_module._accelerator.cache_clear()


@pytest.mark.skipif(not _has_accelerator(), reason="lark-cython is not installed")
@pytest.mark.parametrize("bundle", BUNDLES, ids=lambda p: p.name)
def test_lark_cython_gives_the_same_events(bundle: Path, reference: dict[str, list[Any]]) -> None:
    registry_module._accelerator.cache_clear()
    accelerated = load_registry()
    assert any(f.record_parser is not f.parser for f in accelerated)
    assert _outcome(bundle, accelerated) == reference[bundle.name]


def test_lark_cython_failures_read_the_same(pure_registry: Registry) -> None:
    """Records no grammar accepts get the same reason (the column Lark gave up at)."""
    from reformdiag.parse.record import parse_record

    if not _has_accelerator():
        pytest.skip("lark-cython is not installed")
    registry_module._accelerator.cache_clear()
    accelerated = {f.id: f for f in load_registry()}
    rng = random.Random(8)
    checked = 0
    for fmt in pure_registry:
        if fmt.spec.layout != "lines":
            continue
        for sample in fmt.spec.samples:
            text = (sample.get("line") or sample["lines"]).rstrip("\n")
            for cut in sorted({rng.randrange(len(text)) for _ in range(4)}):
                for broken in (text[:cut], text[:cut] + "\x00|<" + text[cut:]):
                    kw = {"file": "f.log", "line": 1, "filename": "f.log"}
                    want = parse_record(fmt, broken, **kw)
                    got = parse_record(accelerated[fmt.id], broken, **kw)
                    assert dataclasses.asdict(got) == dataclasses.asdict(want), broken
                    checked += 1
    assert checked > 100


def test_templates_compile_when_first_tried() -> None:
    fmt = next(f for f in load_registry() if f.spec.templates)
    template = pickle.loads(pickle.dumps(fmt.spec.templates[0]))
    assert template._compiled == []
    assert template.pattern.pattern == template.regex
    assert template.pattern.flags & re.IGNORECASE
    assert template == fmt.spec.templates[0]


def test_normalise_message_is_the_whitespace_regex() -> None:
    spaces = [chr(c) for c in range(0x3100) if chr(c).isspace()]
    rng = random.Random(3)
    alphabet = [*spaces, "a", "b", ":", "[", "]"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert normalise_message(text) == re.sub(r"\s+", " ", text).strip()


def test_read_timestamp_fast_path_agrees_with_the_general_one() -> None:
    rng = random.Random(5)
    alphabet = "0123456789-: T.+_x\u0663\t,Z"
    for base in ("2024-09-19 17:14:37.354", "2024-02-29 23:59:59.999", "2023-12-31T00:00:00.000"):
        assert read_timestamp(base) == _read_iso(base, ())
        for _ in range(20000):
            chars = list(base)
            for _ in range(rng.randint(1, 3)):
                chars[rng.randrange(len(chars))] = rng.choice(alphabet)
            text = "".join(chars)
            assert read_timestamp(text) == _read_iso(text.strip(), ()), text
