"""Hostile command-line options: every bad value or combination is one line naming the option, exit != 0,
no traceback and no output; a value that is accepted runs correctly."""
from __future__ import annotations

import click
import numpy as np
import pytest
import soundfile as sf
from cli_helpers import assert_one_line_error, run

from tsae.cli import BUILTIN_COMMANDS, cli
from tsae.cli.common import FloatRange, IntRange, LocalPath, PathText


def _run_here(args, trained, tmp_path, monkeypatch, **more):
    """``tsae *args`` run in ``tmp_path`` (nothing it writes lands elsewhere), ``{src}``, ``{model}`` and
    ``{detector}`` (and ``more``) filled in from the ``trained`` fixture."""
    src, model, detector = trained
    monkeypatch.chdir(tmp_path)
    return run(*[a.format(src=src, model=model, detector=detector, **more) for a in args])


def test_debug_after_the_command_is_a_usage_error_not_a_traceback(tmp_path) -> None:
    # `--debug` belongs to `tsae`, before the command; given after it, it is an unknown option of that command
    # (it showed click's NoSuchOption traceback: the whole line was searched for --debug)
    result = run("frame", tmp_path / "missing.wav", "--debug")
    assert_one_line_error(result, "No such option '--debug'", "tsae --debug frame")
    assert result.exit_code == 2


def _options() -> list[tuple[str, click.Option]]:
    """Every option of every built-in command (``detect fit``'s too), with the command's path."""
    return [(path, p) for path, p in _params() if isinstance(p, click.Option)]


def test_every_integer_option_refuses_an_integer_beyond_64_bits() -> None:
    # click.IntRange passed --hop 100000000000000000000 on: `tsae frame` failed in numba ("internal error
    # (TypingError ...)"), `detect fit --seed` with "Overflow when unpacking long long" blamed on the file
    plain = [f"{path} {p.opts[-1]}" for path, p in _options()
             if isinstance(p.type, click.IntRange) and not isinstance(p.type, IntRange)]
    assert not plain, f"integer options without the shared ceiling: {plain}"


def test_frame_hop_beyond_64_bits_is_a_usage_error(tmp_path) -> None:
    src = tmp_path / "x.npy"
    np.save(src, np.zeros(64, np.float32))
    result = run("frame", src, "--window", "16", "--hop", str(10**20), "-o", tmp_path / "f.npy")
    assert_one_line_error(result, "'--hop'", "100000000000000000000 is too large (at most 9223372036854775807)")
    assert result.exit_code == 2 and not (tmp_path / "f.npy").exists()
    assert run("frame", src, "--window", "16", "--hop", str(2**63 - 1), "-o", tmp_path / "f.npy").exit_code == 0


def test_every_integer_option_is_a_range() -> None:
    # `--seed` was a plain int: -1 was told by the library ("seed must be ..."), 2**64 by torch, blamed on the file
    plain = [f"{path} {p.opts[-1]}" for path, p in _options() if isinstance(p.type, click.types.IntParamType)
             and not isinstance(p.type, IntRange)]
    assert not plain, f"integer options without a range: {plain}"


def test_a_seed_beyond_64_bits_is_refused_by_name(trained, tmp_path) -> None:
    src = trained[0]
    for command in (["train"], ["detect", "fit"]):
        for seed in (-1, 2**64):
            result = run(*command, src, "--window", "16", "--epochs", "1", "--seed", seed, "-o", tmp_path / "o.tsae")
            assert_one_line_error(result, "'--seed'", "0<=x<=18446744073709551615")
            assert result.exit_code == 2 and not (tmp_path / "o.tsae").exists()


def test_a_detector_seed_beyond_64_bits_is_refused_at_construction() -> None:
    from tsae import Detector

    with pytest.raises(ValueError, match=r"^seed must be a whole number >= 0 and < 2\*\*64, got "):
        Detector(seed=2**64)  # was accepted, and failed in the fit: "Overflow when unpacking long long"
    assert Detector(seed=2**64 - 1).seed == 2**64 - 1


def _params() -> list[tuple[str, click.Parameter]]:
    """Every parameter (options and arguments) of every built-in command."""
    ctx = click.Context(cli)
    out = []
    for name in BUILTIN_COMMANDS:
        command = cli.get_command(ctx, name)
        commands = command.commands.items() if isinstance(command, click.Group) else [("", command)]
        for sub, leaf in commands:
            out += [(f"{name} {sub}".strip(), p) for p in leaf.params]
    return out


def test_every_path_parameter_refuses_an_empty_path() -> None:
    # Path("") is the working folder: `tsae train ''` trained on the folder's files, `reconstruct -o ''` and
    # `export -o ''` wrote into it, `reconstruct ''` said ".: is a folder, not a model file"
    plain = [f"{path} {p.human_readable_name}" for path, p in _params()
             if isinstance(p.type, click.Path) and not isinstance(p.type, LocalPath)]
    assert not plain, f"path parameters that take '' for the working folder: {plain}"
    outputs = [f"{path} -o" for path, p in _params() if "-o" in getattr(p, "opts", ())
               and not isinstance(p.type, (LocalPath, PathText))]
    assert not outputs, f"-o options that take '' for the working folder: {outputs}"


@pytest.mark.parametrize("args", [
    ["train", "", "-o", "m.tsae"],
    ["reconstruct", "{model}", "{src}", "-o", ""],
    ["reconstruct", "", "{src}", "-o", "r.csv"],
    ["encode", "", "{src}", "-o", "c.npy"],
    ["export", "{model}", "-o", ""],
    ["export", "", "-o", "x.onnx"],
    ["monitor", "--detector", "{detector}", "--outbox", ""],
    ["denoise", "{src}", "-o", "o.wav", "--model", " "],  # "model must be a model file or ..., got ' '", exit 1
], ids=lambda a: " ".join(a[:1] + [x or "''" for x in a[1:] if not x.startswith("{")]))
def test_an_empty_path_is_refused_and_nothing_is_written(args, trained, tmp_path, monkeypatch) -> None:
    (tmp_path / "a.npy").write_bytes(b"")  # what `train ''` read as its data
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, "an empty path (an unset shell variable?)")
    assert result.exit_code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["a.npy"]


@pytest.mark.parametrize("args,fragment", [
    (["denoise", "{wav}", "-o", "o.wav", "--duration", "5"], "--duration applies only with --live"),
    (["denoise", "{wav}", "-o", "o.wav", "--input-device", "2", "--output-device", "3"],
     "--input-device, --output-device apply only with --live"),
    (["encode", "{model}", "{src}", "-o", "c.npy", "--color-by", "time"], "--color-by applies only with --plot"),
    (["encode", "{model}", "{src}", "-o", "c.npy", "--projection", "pca"], "--projection applies only with --plot"),
    (["encode", "{model}", "{src}", "-o", "c.npy", "--detector", "{detector}"], "--detector applies only with --plot"),
    (["detect", "fit", "{src}", "-o", "d.tsae", "--risk", "0.01"], "--risk applies only with --threshold pot"),
    (["detect", "fit", "{src}", "-o", "d.tsae", "--threshold", "pot", "--q", "0.9"],
     "--q applies only with --threshold quantile"),
    (["detect", "fit", "{src}", "-o", "d.tsae", "--threshold", "3", "--alarms-per-day", "5"],
     "--alarms-per-day applies only with --threshold budget (the default)"),
    (["monitor", "--detector", "{detector}", "--topic", "plant/pump"], "--topic applies only with an MQTT source"),
    (["monitor", "--detector", "{detector}", "--clean-session"], "--clean-session applies only with an MQTT source"),
    (["monitor", "--detector", "{detector}", "--client-id", "me"],
     "--client-id applies only with an MQTT source or sink"),
    (["monitor", "--detector", "{detector}", "--outbox", "box.txt"], "--outbox applies only with an MQTT sink"),
    (["monitor", "--detector", "{detector}", "--mqtt", "localhost:1883", "--outbox", "box.txt"],
     "--outbox applies only with an MQTT sink"),
    (["monitor", "--detector", "{detector}", "--mqtt", ""], "'--mqtt': an empty address"),
])
def test_an_option_without_what_it_applies_to_is_refused(args, fragment, trained, tmp_path, monkeypatch) -> None:
    # each was ignored without a word (`--mqtt ''` read stdin instead of a broker)
    wav = tmp_path / "in.wav"
    sf.write(wav, np.zeros(1600, np.float32), 16000)
    result = _run_here(args, trained, tmp_path, monkeypatch, wav=wav)
    assert_one_line_error(result, fragment)
    assert result.exit_code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_every_number_option_refuses_infinity_unless_it_means_no_limit() -> None:
    # `--alarms-per-day inf` was told by the detector as "alarms_per_day=inf is out of range (0, inf)", `--lr inf`
    # as "lr must be a finite number", `--max-error inf` as "max_error must be finite": the Python names
    plain = [f"{path} {p.opts[-1]}" for path, p in _options()
             if isinstance(p.type, click.FloatRange) and not isinstance(p.type, FloatRange)]
    assert not plain, f"number options without the shared checks: {plain}"
    infinite = sorted(f"{path} {p.opts[-1]}" for path, p in _options() if getattr(p.type, "infinite", False)
                      and (p.type.max is None or p.type.max == float("inf")))
    assert infinite == ["denoise --atten-limit", "denoise --duration", "export --atten-limit",
                        "monitor --max-time-jump"]


@pytest.mark.parametrize("args", [
    ["train", "{src}", "-o", "o.tsae", "--lr", "inf"],
    ["train", "{src}", "-o", "o.tsae", "--max-seconds", "1e400"],
    ["detect", "fit", "{src}", "-o", "o.tsae", "--alarms-per-day", "inf"],
    ["detect", "fit", "{src}", "-o", "o.tsae", "--sample-interval", "1e400"],
    ["compress", "{model}", "{src}", "-o", "o.tsz", "--max-error", "inf"],
    ["compress", "{model}", "{src}", "-o", "o.tsz", "--latent-step", "1e400"],
], ids=lambda a: " ".join(a[-2:]))
def test_infinity_is_refused_by_the_option_name(args, trained, tmp_path, monkeypatch) -> None:
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, f"Invalid value for '{args[-2]}'", "is not a finite number")
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,fragment", [
    (["denoise", "-", "--raw", "--rate", "1000000", "--channels", "1", "-o", "o.wav"],
     "'--rate': must be within [4000, 768000] Hz, got 1000000"),  # was "stdin: sample_rate must be within ..."
    (["denoise", "-", "--raw", "--rate", "10000000000", "--channels", "1", "-o", "o.wav"],
     "'--rate': must be within [4000, 768000] Hz"),  # was "--raw: invalid stream format: ... at most 1536000 Hz"
    (["detect", "score", "{src}", "--detector", "{detector}", "-o", "s.csv", "--drift-every", "2000000"],
     "'--drift-every': 2000000 is not in the range 1<=x<=1048576"),  # was "drift_every=2000000 is out of range"
    (["monitor", "--detector", "{detector}", "--drift-every", "2000000"],
     "'--drift-every': 2000000 is not in the range"),
    (["train", "{src}", "-o", "m.tsae", "--lr", "1e31"], "'--lr': must be in (0, 1e+30], got 1e+31"),
    (["compress", "{model}", "{src}", "-o", "c.tsz", "--max-error", "1e308"],
     "'--max-error': must be finite and > 0 (at most 1.072e+301), got 1e+308"),  # was "max_error must be ..."
], ids=lambda a: a if isinstance(a, str) else " ".join(a[:1]))
def test_a_value_beyond_the_library_s_range_is_refused_by_the_option_name(args, fragment, trained, tmp_path,
                                                                          monkeypatch) -> None:
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, fragment)
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,fragment", [
    (["train", "{src}", "-o", "o.tsae", "--window", "16", "--hop", "32"],
     "--hop 32 is longer than --window 16"),  # was "hop must be between 1 and the window (16), got 32"
    (["detect", "fit", "{src}", "-o", "o.tsae", "--window", "16", "--hop", "32"],
     "--hop 32 is longer than --window 16"),  # was "x.csv: hop=32 must be an integer in [1, window=16] (None: ..."
    (["detect", "fit", "{src}", "-o", "o.tsae", "--window", "1"],
     "Invalid value for '--window': 1 is not in the range 2<=x<=1048576"),  # was "Invalid value: '1' must be >= 2"
    (["detect", "fit", "{src}", "-o", "o.tsae", "--window", "abc"],
     "Invalid value for '--window': 'abc' is not 'auto' or a whole number of samples"),
    (["detect", "fit", "{src}", "-o", "o.tsae", "--terms", "PCA"],
     "Invalid value for '--terms': 'PCA': use 'auto' or a combination of ae, pca, stats"),  # after the training
    (["detect", "fit", "{src}", "-o", "o.tsae", "--scales", "16,1"],
     "Invalid value for '--scales': 1 is not in the range 2<=x<=1048576"),  # "x.csv: scales: ...", after training
], ids=lambda a: a if isinstance(a, str) else " ".join(a[-2:]))
def test_detector_and_training_options_are_refused_by_name_before_the_data_is_read(args, fragment, trained,
                                                                                   tmp_path, monkeypatch) -> None:
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, fragment)
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


def test_detect_fit_takes_auto_in_any_case_as_its_other_words() -> None:
    from tsae.cli.detect_cmd import fit_command

    ctx = click.Context(fit_command)
    assert fit_command.params[[p.name for p in fit_command.params].index("window")].process_value(ctx, "AUTO") \
        == "auto"


@pytest.mark.parametrize("args", [
    ["train", "{src}", "-o", "o.tsae", "--family", ""],
    ["detect", "fit", "{src}", "-o", "o.tsae", "--family", " "],  # trained conv1d without a word
    ["monitor", "--detector", "{detector}", "--time-field", ""],  # "time_field must be ... or None, got ''"
    ["monitor", "--detector", "{detector}", "--source", ""],
    ["denoise", "--live", "--input-device", ""],
], ids=lambda a: " ".join(a[:1] + a[-2:-1]))
def test_an_empty_name_is_refused(args, trained, tmp_path, monkeypatch) -> None:
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, f"Invalid value for '{args[-2]}': an empty name (an unset shell variable?)")
    assert result.exit_code == 2 and not list(tmp_path.iterdir())


@pytest.mark.parametrize("args,fragment", [
    (["detect", "score", "{src}", "--detector", "{detector}", "-o", "s.csv", "--drift-rate", "0.5", "--drift-every",
      "1"], "Error: --drift-every=1 is shorter than 4 of the detector's windows"),  # was "drift_every=1 ..."
    (["compress", "{model}", "{src}", "-o", "c.tsz", "--max-error", "1e-12"],
     ": --max-error 1e-12 is too small for values of magnitude"),  # was "max_error 1e-12 is too small ..."
], ids=["drift-every", "max-error"])
def test_a_library_error_names_the_option_not_the_python_parameter(args, fragment, trained, tmp_path,
                                                                     monkeypatch) -> None:
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, fragment)
    assert result.exit_code == 1 and not list(tmp_path.iterdir())


def test_only_the_command_s_own_parameters_are_renamed() -> None:
    from tsae.cli.common import in_option_words
    from tsae.cli.detect_cmd import score_command

    assert in_option_words("d.tsae: extra.settings.drift_every: 0 is out of range", score_command) \
        == "d.tsae: extra.settings.drift_every: 0 is out of range"  # a file's field keeps its name
    assert in_option_words("max_error must be > 0; drift_every=0", score_command) == \
        "max_error must be > 0; --drift-every=0"  # max_error is no option of detect score
    assert in_option_words("drift_every=0 (--drift-every)", score_command) == "drift_every=0 (--drift-every)"


_TORCH_OOM = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried to "
              "allocate 1024000000 bytes. Error code 12 (Cannot allocate memory)")


def test_torch_running_out_of_memory_is_told_as_such(trained, tmp_path, monkeypatch) -> None:
    # `train -p latent=1000000` ended with torch's "[enforce fail at alloc_cpu.cpp:127] err == 0. ..."
    import tsae.models.fit

    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError(_TORCH_OOM)

    monkeypatch.setattr(tsae.models.fit, "train_files", out_of_memory)
    result = run("train", trained[0], "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, "Error: not enough memory (0.954 GiB could not be allocated)")


def test_a_network_too_large_for_memory_is_not_blamed_on_its_plugin(monkeypatch) -> None:
    # `train --window 1000000`: "model family 'conv1d' (plugin ...): a forward pass on input (3, 4, 1000000) failed
    # (RuntimeError: [enforce fail ...", as if the family were broken
    from tsae.errors import NamedMemoryError
    from tsae.plugins import create_model, get_model_family

    family = get_model_family("dense")

    def out_of_memory(self: object, x: object) -> None:
        raise RuntimeError(_TORCH_OOM)

    monkeypatch.setattr(family, "encode", out_of_memory)
    with pytest.raises(NamedMemoryError, match=r"^model family 'dense' for 2 channel\(s\) x 16 samples does not "
                                               r"fit in memory \(0\.954 GiB could not be allocated\)$"):
        create_model("dense", 2, 16)


@pytest.mark.parametrize("kind,value,message", [
    (IntRange(min=1), "abc", "'abc' is not a whole number (x>=1)."),  # was "'abc' is not a valid integer range."
    (IntRange(min=1), "0.5", "'0.5' is not a whole number (x>=1)."),
    (IntRange(1, 1024), "10s", "'10s' is not a whole number (1<=x<=1024; give the number alone, without a unit)."),
    (FloatRange(0, 1), "5%", "'5%' is not a number (0<=x<=1; give the number alone, without a unit)."),
    (FloatRange(0, 1), "", "'' is not a number (0<=x<=1)."),  # was "'' is not a valid float range."
    (FloatRange(0, 1), "nan", "'nan' is not a number (0<=x<=1)."),
])
def test_a_value_that_is_no_number_is_told_with_the_range(kind, value, message) -> None:
    with pytest.raises(click.BadParameter) as caught:
        kind.convert(value, None, None)
    assert caught.value.message == message


def test_the_cli_tells_the_range_of_a_word_given_for_a_number(tmp_path) -> None:
    result = run("denoise", tmp_path / "x.wav", "--batch", "ten")
    assert_one_line_error(result, "Invalid value for '--batch': 'ten' is not a whole number (x>=1).")


def test_every_number_option_tells_its_default_and_range_in_its_help() -> None:
    # encode --batch-size had no help at all, train --max-seconds and export --atten-limit no default, detect fit
    # --seed neither help nor range, detect fit --window (a text option) no range
    missing = []
    for path, p in _options():
        if not isinstance(p.type, (click.IntRange, click.FloatRange)) and p.name not in ("window", "scales"):
            continue
        help_text = p.help or ""
        if not help_text or not (p.show_default or "default" in help_text.lower()):
            missing.append(f"{path} {p.opts[-1]}")
    assert not missing, f"number options whose --help gives no default: {missing}"
    help_text = run("detect", "fit", "--help").output
    assert "2 to 1048576" in help_text and "Random seed" in help_text and "0<=x<=18446744073709551615" in help_text
    assert "RANGE" not in help_text  # "--hop INTEGER RANGE ... [x>=1]" told the range twice


@pytest.mark.parametrize("args", [
    ["detect", "score", "{src}", "--detector", "{detector}", "-o", "s.csv", "--drift-every", "500"],
    ["monitor", "--detector", "{detector}", "--drift-every", "500"],
], ids=["score", "monitor"])
def test_drift_every_without_drift_updates_is_refused(args, trained, tmp_path, monkeypatch) -> None:
    # the detector's drift updates are off (drift_rate 0): --drift-every was ignored without a word
    result = _run_here(args, trained, tmp_path, monkeypatch)
    assert_one_line_error(result, "Error: --drift-every=500 has no effect: drift updates are off (--drift-rate 0); "
                                  "give a --drift-rate above 0 too")
    assert result.exit_code == 1 and not list(tmp_path.iterdir())


def test_a_drift_every_argument_without_drift_updates_is_refused(trained) -> None:
    from tsae import Detector

    detector = Detector.load(trained[2])
    with pytest.raises(ValueError, match=r"^drift_every=500 has no effect: drift updates are off"):
        detector.core(drift_every=500)
    detector.core(drift_every=500, drift_rate=0.1)
    detector.set_params(drift_every=500).core()  # a detector's own setting, with its drift off, is no request


def test_a_conv1d_depth_that_pads_the_window_beyond_measure_is_a_parameter_error(trained, tmp_path) -> None:
    # -p depth=60 padded a window of 16 to 2**60 samples: "model family 'conv1d' (plugin ...): a forward pass on input
    # (3, 2, 16) failed (RuntimeError: Storage size calculation overflowed ...)", as if the plugin were broken
    result = run("train", trained[0], "--window", "16", "-p", "depth=60", "-o", tmp_path / "m.tsae")
    assert_one_line_error(result, "conv1d: stride**depth (2**60) pads a window of 16 samples to "
                                  "1152921504606846976, more than 1048576: lower depth or stride")
    assert not (tmp_path / "m.tsae").exists()


def test_a_family_integer_beyond_what_a_model_file_holds_is_a_parameter_error(trained, tmp_path) -> None:
    # -p latent=10**20: "could not be built: TypeError: empty(): argument 'size' failed to unpack ... Overflow when
    # unpacking long long" (told as "does not fit in memory" while torch's message held the word "alloc");
    # a latent of 2**20 + 1 trained a model that no command could load again
    for value in (10**20, 2**20 + 1):
        result = run("train", trained[0], "--window", "16", "-p", f"latent={value}", "-o", tmp_path / "m.tsae")
        assert_one_line_error(result, f"conv1d: parameter latent='{value}' must be within +-1048576 (what a model "
                                      "file holds)")
    assert not (tmp_path / "m.tsae").exists()


@pytest.mark.parametrize("args", [
    ["train", "{src}", "-o", "o.tsae", "--window", "1048577"],
    ["detect", "fit", "{src}", "-o", "o.tsae", "--window", "1048577"],
], ids=["train", "detect fit"])
def test_a_window_longer_than_a_model_file_holds_is_refused_before_training(args, trained, tmp_path,
                                                                           monkeypatch) -> None:
    # train trained (zero-padding the data to the window) and then refused to write the model: "o.tsae:
    # hparams.window: 1048577 is out of range [1, 1048576] (load_model would refuse the file)"
    monkeypatch.chdir(tmp_path)
    result = run(*[a.format(src=trained[0]) for a in args])
    assert_one_line_error(result, "Invalid value for '--window': 1048577 is not in the range")
    assert result.exit_code == 2 and not list(tmp_path.iterdir())

