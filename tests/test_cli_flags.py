"""`train`'s flags come from the config dataclasses: same names, types, choices and help; one owner."""

from __future__ import annotations

import dataclasses

import pytest

from sgn_teach.cli.flags import SECTIONS, TRAIN_FLAGS, flag_name
from sgn_teach.cli.main import build_parser, main


def _train_actions():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "cmd")
    return {a.option_strings[0]: a for a in sub.choices["train"]._actions if a.option_strings}


def test_every_train_flag_mirrors_its_config_field():
    actions = _train_actions()
    for section, name, _ in TRAIN_FLAGS:
        f = next(f for f in dataclasses.fields(SECTIONS[section]) if f.name == name)
        action = actions[flag_name(name)]
        assert action.default is None  # not given: the preset's value stays
        assert tuple(action.choices or ()) == tuple(f.metadata.get("choices", ()))
        assert f.metadata["help"] in action.help
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        text = ",".join(map(str, default)) if isinstance(default, tuple) else str(default)
        assert isinstance(action.type(text), type(default))


@pytest.mark.parametrize("flags, message", [
    (["--embedding", "course"], "--embedding applies to --model text only"),
    (["--condition", "class"], "--condition applies to --model diffusion only"),
    (["--losses", "unsup"], "--losses applies to --model text only"),
    (["--consistency-form", "union"], "--consistency-form applies to --model text only"),
    (["--bimodal-form", "sum"], "invalid choice"),
    (["--optimizer", "rmsprop"], "invalid choice"),
])
def test_a_flag_of_another_model_kind_is_refused_in_one_line(tmp_path, capsys, flags, message):
    rc = main(["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "run"), "--model", "sgn", *flags])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()
