"""A model file's stored column list (``extra.columns``) is checked on load, as every other header field is.

Before, a crafted list (``[1, {}]``, one name for a two-channel model, a name twice) was
accepted by reconstruct, export, compress, smooth --model and train --init, and tables were
matched against it; now load_model refuses it with one line naming the file and the field.
"""
from __future__ import annotations

import pytest
from cli_helpers import assert_one_line_error, run

from tsae.models.fields import ModelFileError
from tsae.models.modelfile import load_model, read_model_header, save_model


@pytest.fixture(scope="module")
def named(tmp_path_factory):
    """A two-channel model file trained (so to speak) on the columns a and b."""
    import torch

    from tsae.plugins import create_model

    torch.manual_seed(0)
    model = create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8)
    return save_model(tmp_path_factory.mktemp("named") / "ab.tsae", model,
                      frame={"window": 32, "hop": 16, "window_fn": None},
                      normalizer={"method": "zscore", "center": [0.0, 0.0], "scale": [1.0, 2.0]},
                      extra={"columns": ["a", "b"]})


def with_columns(craft_model_file, source, columns, drop=False):
    def mutate(head: dict) -> None:
        if drop:
            head["extra"].pop("columns")
        else:
            head["extra"]["columns"] = columns
    return craft_model_file(source, "crafted.tsae", header=mutate)


BAD = [
    ([1, {}], "must be a list of column names (strings), not [1, {}]"),
    ("ab", "must be a list of column names (strings), not 'ab'"),
    ({"a": 1}, "must be a list of column names"),
    (["a"], "names 1 column(s) but the network has 2 channel(s)"),
    (["a", "b", "c"], "names 3 column(s) but the network has 2 channel(s)"),
    ([], "names 0 column(s)"),
    (["a", "a"], "names column 'a' more than once"),
]


@pytest.mark.parametrize("columns,match", BAD)
def test_a_corrupt_column_list_is_refused_on_load(named, craft_model_file, columns, match) -> None:
    path = with_columns(craft_model_file, named, columns)
    for load in (load_model, read_model_header):
        with pytest.raises(ModelFileError) as info:
            load(path)
        message = str(info.value)
        assert "\n" not in message and message.startswith(f"{path}: extra.columns: "), message
        assert info.value.field == "extra.columns" and match in message, message


def test_a_good_list_or_none_still_loads(named, craft_model_file) -> None:
    assert load_model(named).extra["columns"] == ["a", "b"]
    assert load_model(with_columns(craft_model_file, named, None)).extra["columns"] is None
    assert "columns" not in load_model(with_columns(craft_model_file, named, None, drop=True)).extra
    assert load_model(with_columns(craft_model_file, named, ["ch0", "ch1"])).extra["columns"] == ["ch0", "ch1"]


def test_save_model_never_writes_a_list_load_model_would_refuse(tmp_path) -> None:
    from tsae.plugins import create_model

    model = create_model("conv1d", 2, 32, depth=2, hidden=8, latent=8)
    with pytest.raises(ValueError, match=r"extra\.columns: names column 'a' more than once \(load_model would"):
        save_model(tmp_path / "dup.tsae", model, extra={"columns": ["a", "a"]})
    assert not (tmp_path / "dup.tsae").exists()


@pytest.mark.parametrize("command", ["reconstruct", "export", "compress", "smooth", "train"])
def test_every_command_refuses_it_in_one_line(named, craft_model_file, tmp_path, command) -> None:
    bad = with_columns(craft_model_file, named, [1, {}])
    data = tmp_path / "ab.csv"
    data.write_text("a,b\n" + "".join(f"{i % 7},{i % 5}\n" for i in range(100)))
    args = {
        "reconstruct": ["reconstruct", bad, data, "-o", tmp_path / "out.csv"],
        "export": ["export", bad, "-o", tmp_path / "out.onnx"],
        "compress": ["compress", bad, data, "-o", tmp_path / "out.tsz"],
        "smooth": ["smooth", data, "-o", tmp_path / "out.csv", "--model", bad],
        "train": ["train", data, "-o", tmp_path / "out.tsae", "--init", bad, "--epochs", "1"],
    }[command]
    assert_one_line_error(run(*args, "-q"), f"{bad}: extra.columns: must be a list of column names")
    assert not list(tmp_path.glob("out*"))
