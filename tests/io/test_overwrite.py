"""No command ever overwrites a file it reads, a device node, or writes "inside" a file (one check: tsae.io.paths)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest


def assert_refused(result, *fragments: str) -> None:
    """A one-line error naming the problem."""
    assert result.exit_code != 0, result.output
    text = result.output.strip()
    assert "\n" not in text and "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, text


def _unchanged(path, before: bytes) -> None:
    assert path.read_bytes() == before


def test_reconstruct_output_is_the_model(run, csv_file, model_file) -> None:
    before = model_file.read_bytes()
    assert_refused(run("reconstruct", model_file, csv_file, "-o", model_file), "refusing to overwrite", "m.tsae")
    _unchanged(model_file, before)


def test_smooth_output_is_the_model(run, csv_file, model_file) -> None:
    before = model_file.read_bytes()
    assert_refused(run("smooth", csv_file, "--model", model_file, "--device", "cpu", "-o", model_file),
                   "refusing to overwrite")
    _unchanged(model_file, before)


def test_impute_output_is_the_model(run, csv_file, model_file) -> None:
    before = model_file.read_bytes()
    assert_refused(run("impute", csv_file, "--model", model_file, "--device", "cpu", "-o", model_file),
                   "refusing to overwrite")
    _unchanged(model_file, before)


def test_encode_output_is_the_model_or_the_data(run, csv_file, model_file) -> None:
    before, data = model_file.read_bytes(), csv_file.read_bytes()
    assert_refused(run("encode", model_file, csv_file, "-o", model_file), "refusing to overwrite")
    assert_refused(run("encode", model_file, csv_file, "-o", csv_file), "refusing to overwrite")
    _unchanged(model_file, before)
    _unchanged(csv_file, data)


@pytest.mark.parametrize("target", ["input", "model"])
def test_reconstruct_manifest_is_an_input_or_the_model(run, tmp_path, csv_file, model_file, target) -> None:
    other = tmp_path / "e.csv"
    shutil.copy(csv_file, other)
    manifest = csv_file if target == "input" else model_file
    before = manifest.read_bytes()
    assert_refused(run("reconstruct", model_file, csv_file, other, "-o", tmp_path / "out", "--manifest", manifest),
                   "refusing to overwrite")
    _unchanged(manifest, before)
    assert not (tmp_path / "out").exists()


def test_reconstruct_batch_output_folder_holds_the_inputs(run, tmp_path, csv_file, model_file) -> None:
    other = tmp_path / "e.csv"
    shutil.copy(csv_file, other)
    before = csv_file.read_bytes()
    assert_refused(run("reconstruct", model_file, csv_file, other, "-o", tmp_path), "refusing to overwrite")
    _unchanged(csv_file, before)


def test_denoise_does_not_overwrite_its_second_input(run, tmp_path, wav_file) -> None:
    second = tmp_path / "a.denoised.wav"
    shutil.copy(wav_file, second)
    before = second.read_bytes()
    assert_refused(run("denoise", wav_file, second, "-q"), "refusing to overwrite", "a.denoised.wav")
    _unchanged(second, before)
    assert not (tmp_path / "a.denoised.denoised.wav").exists()


def test_detect_outputs_never_replace_the_detector_or_the_data(run, tmp_path, csv_file) -> None:
    detector = tmp_path / "det.tsae"
    assert run("detect", "fit", csv_file, "-o", detector, "--window", "16", "--epochs", "1", "--device", "cpu",
               "-q").exit_code == 0
    before, data = detector.read_bytes(), csv_file.read_bytes()
    score = ["detect", "score", csv_file, "--detector", detector, "--device", "cpu", "-q"]
    assert_refused(run(*score, "-o", tmp_path / "s.csv", "--events", detector), "refusing to overwrite")
    assert_refused(run(*score, "-o", tmp_path / "s.csv", "--plot", csv_file), "refusing to overwrite")
    assert_refused(run(*score, "-o", detector), "refusing to overwrite")
    assert_refused(run(*score, "-o", tmp_path / "s.csv", "--events", tmp_path / "s.csv"), "two outputs")
    assert_refused(run("detect", "fit", csv_file, "-o", csv_file, "--device", "cpu", "-q"), "refusing to overwrite")
    _unchanged(detector, before)
    _unchanged(csv_file, data)
    assert not (tmp_path / "s.csv").exists()


def test_train_and_frame_never_replace_their_input(run, tmp_path, csv_file) -> None:
    data = csv_file.read_bytes()
    assert_refused(run("train", csv_file, "-o", csv_file, "--epochs", "1", "-q"), "refusing to overwrite")
    _unchanged(csv_file, data)
    signal = tmp_path / "s.npy"
    np.save(signal, np.arange(64.0))
    before = signal.read_bytes()
    assert_refused(run("frame", signal, "--window", "8", "--hop", "4", "-o", signal), "refusing to overwrite")
    _unchanged(signal, before)


def test_output_under_a_file_names_the_real_problem(run, csv_file, model_file) -> None:
    target = csv_file.with_name("d.csv") / "out.csv"
    assert_refused(run("reconstruct", model_file, csv_file, "-o", target), "d.csv is a file, not a folder")
    assert_refused(run("smooth", csv_file, "-o", target), "d.csv is a file, not a folder")


def test_output_linked_to_a_device_is_refused(run, tmp_path, csv_file) -> None:
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    assert_refused(run("smooth", csv_file, "-o", link), "is a device")
    assert link.is_symlink()


def _linked(tmp_path, name: str, old: bytes = b"old") -> tuple:
    """``out/NAME``, a link to ``real/NAME`` (which holds ``old``)."""
    (tmp_path / "real").mkdir(exist_ok=True)
    (tmp_path / "out").mkdir(exist_ok=True)
    real = tmp_path / "real" / name
    real.write_bytes(old)
    link = tmp_path / "out" / name
    link.symlink_to(f"../real/{name}")
    return link, real


def _no_parts(*folders) -> None:
    for folder in folders:
        assert not [p.name for p in folder.iterdir() if p.name.endswith(".part")], folder


@pytest.mark.parametrize("command", ["smooth", "denoise", "reconstruct", "detect score"])
def test_an_output_that_is_a_link_is_written_through_it(run, tmp_path, csv_file, wav_file, model_file,
                                                        command) -> None:
    """The atomic write replaced the link with a file and left the file it pointed to as it was; ``cp`` and the
    shell's ``>`` write through a link, and so does tsae now: the file it points to is replaced, atomically."""
    suffix = ".wav" if command == "denoise" else ".csv"
    link, real = _linked(tmp_path, f"o{suffix}")
    if command == "smooth":
        result = run("smooth", csv_file, "-o", link, "-q")
    elif command == "denoise":
        result = run("denoise", wav_file, "-o", link, "-q")
    elif command == "reconstruct":
        result = run("reconstruct", model_file, csv_file, "-o", link, "-q", "--device", "cpu")
    else:
        from tsae.pipelines.anomaly.detector import Detector

        x = np.loadtxt(csv_file, delimiter=",", skiprows=1)[:, 1:].T
        Detector(window=16, epochs=1, device="cpu").fit(x, sensors=["a", "b"]).save(tmp_path / "det.tsae")
        events, real_events = _linked(tmp_path, "o.events.csv")
        result = run("detect", "score", csv_file, "--detector", tmp_path / "det.tsae", "-o", link, "--events",
                     events, "-q")
        assert events.is_symlink() and real_events.read_text().startswith("start,end,")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert real.read_bytes() != b"old" and real.stat().st_size > 100
    _no_parts(link.parent, real.parent)


def test_a_link_to_a_link_to_an_input_is_refused(run, tmp_path, csv_file) -> None:
    before = csv_file.read_bytes()
    (tmp_path / "hop.csv").symlink_to(csv_file)
    (tmp_path / "out.csv").symlink_to("hop.csv")
    assert_refused(run("smooth", csv_file, "-o", tmp_path / "out.csv"), "out.csv: refusing to overwrite", "d.csv")
    _unchanged(csv_file, before)
    assert (tmp_path / "out.csv").is_symlink()


def test_a_link_to_no_file_yet_writes_that_file(run, tmp_path, csv_file) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to("made.csv")
    assert run("smooth", csv_file, "-o", link, "-q").exit_code == 0
    assert link.is_symlink() and (tmp_path / "made.csv").read_text().startswith("time,")


def test_a_link_into_a_missing_folder_or_a_loop_is_one_line(run, tmp_path, csv_file) -> None:
    link = tmp_path / "out.csv"
    link.symlink_to("nowhere/made.csv")
    assert_refused(run("smooth", csv_file, "-o", link), "out.csv: a link to", "whose folder",
                   "nowhere does not exist")
    assert not (tmp_path / "nowhere").exists() and link.is_symlink()
    (tmp_path / "a.csv").symlink_to("b.csv")
    (tmp_path / "b.csv").symlink_to("a.csv")
    assert_refused(run("smooth", csv_file, "-o", tmp_path / "a.csv"), "a.csv: is a loop of links")
    assert (tmp_path / "a.csv").is_symlink()


def test_outputs_held_back_by_all_or_nothing_go_through_their_links(tmp_path) -> None:
    from tsae.io.atomic import all_or_nothing, atomic_path

    link, real = _linked(tmp_path, "x.txt")
    with all_or_nothing():
        with atomic_path(link) as tmp:
            tmp.write_text("new")
            assert tmp.parent == real.parent.resolve()  # beside the file it replaces: one file system, a rename
        assert real.read_text() == "old"
    assert real.read_text() == "new" and link.is_symlink()
    with pytest.raises(RuntimeError), all_or_nothing():
        with atomic_path(link) as tmp:
            tmp.write_text("newer")
        raise RuntimeError
    assert real.read_text() == "new" and link.is_symlink()
    _no_parts(link.parent, real.parent)
