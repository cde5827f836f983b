"""Fuzzing configuration input: TOML files (`read_toml`, `gan-studio train --config`) and flag values.

`gan-studio train` must answer bad input with exit code 2 and one line on stderr. Training itself is
never started: `Trainer.new` is replaced by a probe that records the validated configs, which must
then have no problems. Budget and bounds: tests/fuzz_support.py.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
from pathlib import Path
from unittest import mock

import pytest
from fuzz_support import FUZZ, bounded, mutated
from hypothesis import given
from hypothesis import strategies as st

from gan_studio import cli
from gan_studio.config import problems, read_toml
from gan_studio.engine.settings import all_field_specs
from gan_studio.errors import ConfigError
from gan_studio.models import MODEL_NAMES

FIELD_NAMES = [spec.name for spec in all_field_specs()]
TRICKY_TEXT = ["1e999", "-1e999", "nan", "inf", "-inf", "1e-400", "9" * 400, "0x10", "1_000", "", " ", "true",
               "cuda", "mps", "-1", "0", "3.5", "1e3", "\u00e9", "\x00", "a\nb", "x\r"]  # fmt: skip


class TrainingWouldStart(Exception):
    """Raised by the probe that stands in for Trainer.new: the CLI accepted the configuration."""

    def __init__(self, model_config, train_config):
        super().__init__("training would start")
        self.model_config, self.train_config = model_config, train_config


def _probe_new(model_name, model_config, train_config, out=None, workspace=None, **options):
    raise TrainingWouldStart(model_config, train_config)


def run_train_cli(argv: list[str]) -> tuple[int, str]:
    """`gan-studio train ...` in-process with training replaced by the probe: (exit code, stderr)."""
    err = io.StringIO()
    with mock.patch("gan_studio.commands.train.Trainer.new", side_effect=_probe_new), contextlib.redirect_stderr(err):
        try:
            code = cli.main(["train", *argv])
        except SystemExit as exc:  # argparse refusing a flag
            code = exc.code
        except TrainingWouldStart as accepted:
            assert problems(accepted.model_config) == [] and problems(accepted.train_config) == []
            code = 0
    return code, err.getvalue()


def check_cli_outcome(code: int, stderr: str) -> None:
    """Accepted (0), or refused with exit 2 and exactly one line of explanation."""
    if code == 0:
        return
    assert code == 2, f"exit code {code}: {stderr}"
    lines = stderr.strip().splitlines()
    assert lines and lines[-1].startswith("gan-studio: error: "), stderr
    assert "Traceback" not in stderr
    if not stderr.startswith("usage:"):  # argparse prints its usage first; our own errors are one line
        assert len(lines) == 1, stderr


# --- TOML text --------------------------------------------------------------------------------------


def _toml_float(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    text = repr(value)
    return text if any(c in text for c in ".en") else text + ".0"


toml_values = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(str),
    st.floats().map(_toml_float),
    st.booleans().map(lambda b: "true" if b else "false"),
    st.sampled_from(TRICKY_TEXT + MODEL_NAMES).map(json.dumps),
    st.text(max_size=12).map(json.dumps),
    st.sampled_from(["[1, 2]", "[]", "{ a = 1 }", "1979-05-27", "07:32:00", '"""x"""', "'lit'"]),
)
toml_keys = st.one_of(
    st.sampled_from(FIELD_NAMES + ["model", "out", "workspace"]), st.from_regex(r"[a-z_]{1,8}", fullmatch=True)
)


@st.composite
def toml_documents(draw) -> bytes:
    """A TOML document of config-like keys and values of every TOML type, sometimes in [tables]."""
    lines = []
    if draw(st.booleans()):
        lines.append(f"model = {json.dumps(draw(st.sampled_from(MODEL_NAMES)))}")
    for _ in range(draw(st.integers(0, 6))):
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["[train]", "[model]", "[a.b]", "[[x]]"])))
        lines.append(f"{draw(toml_keys)} = {draw(toml_values)}")
    return "\n".join(lines).encode("utf-8", "surrogatepass") + b"\n"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz-config")


@FUZZ
@given(data=st.data())
def test_fuzz_read_toml(scratch, data):
    path = scratch / "config.toml"
    path.write_bytes(data.draw(mutated(data.draw(toml_documents()))))
    result = bounded(read_toml, path)
    if not isinstance(result, ConfigError):
        assert isinstance(result, dict)
        assert all(not isinstance(v, (dict, list)) for v in result.values())


@FUZZ
@given(data=st.data())
def test_fuzz_train_cli_with_toml_config(scratch, data):
    path = scratch / "train.toml"
    path.write_bytes(data.draw(mutated(data.draw(toml_documents()), max_mutations=1)))
    code, stderr = bounded(run_train_cli, ["--config", str(path), "--data", "ring8", "--out", str(scratch / "run")])
    check_cli_outcome(code, stderr)


flag_values = st.one_of(
    st.sampled_from(TRICKY_TEXT),
    st.integers().map(str),
    st.floats().map(str),
    st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=10),
)


@FUZZ
@given(model=st.sampled_from(MODEL_NAMES), flags=st.dictionaries(st.sampled_from(FIELD_NAMES), flag_values, max_size=4))
def test_fuzz_train_cli_flag_values(scratch, model, flags):
    argv = [model, "--out", str(scratch / "run")]
    for name, value in flags.items():
        argv += [f"--{name.replace('_', '-')}={value}"]
    code, stderr = bounded(run_train_cli, argv)
    check_cli_outcome(code, stderr)


# --- regressions found by the fuzzers -----------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e999", "-1e999", "1e400", "9" * 400])
def test_integer_flag_with_an_overflowing_exponent_is_a_config_error(scratch, value):
    code, stderr = run_train_cli(["gan", "--data", "ring8", "--out", str(scratch / "run"), f"--steps={value}"])
    assert code == 2 and "steps" in stderr and "Traceback" not in stderr


def test_error_naming_user_text_with_a_newline_is_printed_on_one_line(scratch):
    config = scratch / "newline.toml"
    config.write_text('model = "x\\ny"\n', encoding="utf-8")
    code, stderr = run_train_cli(["--config", str(config), "--out", str(scratch / "run")])
    assert code == 2 and stderr.count("\n") == 1 and "unknown model" in stderr


def test_a_recipe_saved_with_a_byte_order_mark_is_read(tmp_path):
    """Windows editors often save UTF-8 with a BOM; the recipe means the same."""
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbfmodel = 'gan'\n[training]\nsteps = 7\n")
    assert read_toml(path) == {"model": "gan", "steps": 7}


@pytest.mark.parametrize("text, value", [("64", 64), ("64.0", 64), ("6.4e1", 64), ("1e9", 10**9), (" 12 ", 12)])
def test_a_whole_number_may_be_written_as_a_decimal(text, value):
    from gan_studio.config import coerce

    steps = next(spec for spec in all_field_specs() if spec.name == "steps")
    assert coerce(steps, text) == value


@pytest.mark.parametrize("text", ["1.5", "1.5e0", "2.5e-1", "nan", "inf", "1e99999", "abc"])
def test_a_fraction_is_never_cut_to_a_whole_number(text):
    """'1.5e0' was taken as 1 batch, '64.0' refused (review s16Z #8): a whole number in any spelling is taken, a
    fraction is refused in words ('must be a whole number'), as a bad float is ('must be a number')."""
    from gan_studio.config import coerce

    batch = next(spec for spec in all_field_specs() if spec.name == "batch_size")
    with pytest.raises(ConfigError, match=r"batch_size must be a whole number, got '"):
        coerce(batch, text)
