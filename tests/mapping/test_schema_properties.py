"""Property-based tests (hypothesis) of the preset schema: whatever a preset file holds, loading it either
gives a Preset or raises UserError, and every problem line names the field it is about, so the artist can
fix the file instead of reading a traceback (and hot reload keeps the running preset)."""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mapping.test_presets import GOOD
from vjgan.core.effects import EffectParam
from vjgan.core.errors import UserError
from vjgan.mapping.presets import load_preset
from vjgan.mapping.schema import LATENT_KEYS, PRESET_KEYS, ROUTE_KEYS, parse_preset

BOUNDED = settings(max_examples=200, deadline=None, derandomize=True, database=None,
                   suppress_health_check=[HealthCheck.too_slow])
EFFECTS = {"bloom": {"amount": EffectParam("amount", 0.0, 2.0, 0.5)}}
PROBLEM = re.compile(r"^(?P<where>.+?):(?P<line>\d+|\?): (?P<field>\S+): (?P<message>.+)$")

# TOML values: what tomllib can produce (ints of any size, inf/nan floats, nested tables and arrays), plus
# the names the schema knows, so the drawn presets get past the first checks and into the deeper ones
WORDS = st.sampled_from(["kick", "onset", "const", "lfo.a", "user.drive", "truncation", "noise.all",
                         "bend.b8.conv0.zoom", "shader.bloom.amount", "latent.direction.d", "latent.pca.1",
                         "linear", "power", "add", "mul", "sine", "chroma", "static", "coarse", "/a", "bloom"])
HUGE = st.sampled_from([2**63, -(2**64), 10**400])  # TOML integers have no size limit in tomllib
SCALARS = st.one_of(st.booleans(), st.integers(), st.integers(-3, 20), HUGE, st.floats(), st.text(max_size=12), WORDS)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(string.ascii_letters, max_size=6), inner, max_size=3), max_leaves=10)
RANDOM_KEY = st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=8)


def table(keys: tuple[str, ...], **special: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A table with mostly the schema's own keys (values drawn per key where given), now and then a stray one."""
    key = st.sampled_from(keys) | RANDOM_KEY
    return st.dictionaries(key, VALUES, max_size=5).flatmap(
        lambda d: st.fixed_dictionaries({k: special.get(k, st.just(v)) for k, v in d.items()}))


ENVELOPE = table(("trigger", "attack_ms", "decay_ms", "decay_beats"))
ROUTE = table(ROUTE_KEYS, envelope=ENVELOPE | VALUES, clamp=st.lists(SCALARS, max_size=3) | VALUES)
DIRECTION = table(("seed", "file", "key", "index", "subtract_mean", "scale", "groups"))
LATENTS = table(LATENT_KEYS, seeds=st.lists(st.integers(-2, 2**33), max_size=13) | VALUES,
                groups=table(("coarse", "middle", "fine")), loop_bars=table(("coarse", "middle", "fine")) | VALUES,
                directions=st.dictionaries(RANDOM_KEY, DIRECTION | VALUES, max_size=2))
BINDING = table(("source", "target", "scale", "in_min", "in_max"))
PRESETS = table(
    PRESET_KEYS,
    preset=table(("name", "description", "crossfade_beats")),
    latents=LATENTS,
    targets=st.dictionaries(WORDS | RANDOM_KEY, SCALARS, max_size=4),
    shader=table(("chain", "uniforms"), uniforms=st.dictionaries(WORDS, st.dictionaries(WORDS, SCALARS, max_size=2),
                                                                 max_size=2)),
    lfos=st.dictionaries(WORDS | RANDOM_KEY, table(("shape", "beats", "phase", "bipolar", "seed")) | VALUES,
                         max_size=2),
    user=st.dictionaries(WORDS | RANDOM_KEY, table(("value", "min", "max")) | SCALARS, max_size=2),
    routes=st.lists(ROUTE | VALUES, max_size=3) | VALUES,
    osc=table(("bindings",), bindings=st.lists(BINDING | VALUES, max_size=2) | VALUES),
    generator=table(("noise_mask",)),
)


def check_problems(exc: UserError, roots: set[str]) -> None:
    """Every problem line of the error names a field of the preset (the table or key it is in)."""
    head, *lines = str(exc).split("\n")
    assert head.startswith("invalid preset (") and lines, str(exc)
    for line in lines:
        m = PROBLEM.match(line.strip())
        assert m, f"problem line without file:line: field: {line!r}"
        root = re.split(r"[.\[]", m["field"], maxsplit=1)[0]
        assert root in roots, f"{m['field']!r} is not a field of the preset ({sorted(roots)}): {line!r}"


@BOUNDED
@given(PRESETS)
def test_parse_preset_accepts_or_names_every_problem(raw: dict[str, Any]) -> None:
    try:
        parse_preset(raw, "", None, EFFECTS)
    except UserError as exc:
        check_problems(exc, set(raw))


# numeric keys of the tables in GOOD (a line inserted under [targets], [[routes]], ... lands in that table)
NUMBER_KEYS = st.sampled_from(["crossfade_beats", "psi", "truncation", "amount", "drive", "gain", "threshold"])
TOML_KEYS = NUMBER_KEYS | WORDS | st.sampled_from(ROUTE_KEYS + LATENT_KEYS) | RANDOM_KEY
TOML_VALUES = st.sampled_from(["1", "-0.5", "1e999", "nan", "-inf", "true", '"kick"', "[1, 2]", "'x'",
                               "9" * 400, "{ a = 1 }", "[[1], []]", '"a\\nb"'])
EXTREME = st.sampled_from(["9" * 400, "-" + "9" * 400, "nan", "-inf", "1e999", "0.5", "-1"])
TOML_LINES = st.one_of(
    st.tuples(NUMBER_KEYS, EXTREME).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.tuples(TOML_KEYS, TOML_VALUES).map(lambda kv: f"{kv[0]} = {kv[1]}"),
    st.sampled_from(["[routes]", "[[routes]]", "[[latents]]", "[latents.directions.d]", "[routes.envelope]",
                     "[[routes.envelope]]", "[osc]", "[[osc.bindings]]", "[shader.uniforms.bloom]", "[user.drive]",
                     "[preset", "= 1", "[lfos.a]"]),
    st.text(max_size=20),
)


@BOUNDED
@given(st.lists(st.tuples(st.integers(0, 40), TOML_LINES), max_size=4))
def test_load_preset_file_with_inserted_lines(inserts: list[tuple[int, str]]) -> None:
    """The shipped-style preset with lines inserted anywhere, written to a real file and loaded: a Preset, or
    a UserError whose lines name the file, a line number and a field (TOML syntax errors name the line)."""
    lines = GOOD.splitlines()
    for at, text in inserts:
        lines.insert(min(at, len(lines)), text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            load_preset(path, EFFECTS)
        except UserError as exc:
            text = str(exc)
            assert text.startswith(str(path)) or text.startswith("invalid preset ("), text
            if text.startswith("invalid preset ("):
                import tomllib

                check_problems(exc, set(tomllib.loads(path.read_text(encoding="utf-8"))))
