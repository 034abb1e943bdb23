"""What native code writes to file descriptor 1 (``os.write(1, ...)``, a C ``printf``) while a command sends its data
to stdout goes to stderr: in the data it would corrupt it (a JSON line cut, a WAV stream with stray bytes)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="file descriptors and the C library's printf")


def _python(code: str, *, stdin: object = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], stdin=stdin, capture_output=True, env=env,
                          timeout=120)


@posix_only
def test_native_writes_go_to_stderr_while_the_data_goes_to_stdout() -> None:
    proc = _python("""
        import ctypes, os, sys
        from tsae.io.c_stdout import stdout_for_data_only
        print("before", flush=True)
        with stdout_for_data_only(sys.stdout) as data:
            os.write(1, b"native\\n")
            ctypes.CDLL(None).printf(b"printf\\n")  # C stdio, buffered (a pipe): flushed before fd 1 is back
            data.write("data\\n")
            data.flush()
            data.buffer.write(b"bytes\\n")
        os.write(1, b"after\\n")  # descriptor 1 is back
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"before\ndata\nbytes\nafter\n"
    assert proc.stderr == b"native\nprintf\n"


@posix_only
def test_descriptor_1_is_back_when_the_block_fails() -> None:
    proc = _python("""
        import os, sys
        from tsae.io.c_stdout import native_stdout_to_stderr
        try:
            with native_stdout_to_stderr(sys.stdout) as data_fd:
                os.write(data_fd, b"data\\n")
                raise RuntimeError
        except RuntimeError:
            os.write(1, b"after\\n")
        """)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, b"data\nafter\n", b"")


@posix_only
def test_with_stderr_closed_native_writes_go_nowhere() -> None:
    proc = _python("""
        import os, sys
        os.close(2)
        from tsae.io.c_stdout import stdout_for_data_only
        with stdout_for_data_only(sys.stdout) as data:
            os.write(1, b"native\\n")
            data.write("data\\n")
        """)
    assert (proc.returncode, proc.stdout) == (0, b"data\n")


_PLUGIN = """
    import ctypes, os, sys
    import tsae
    from tsae.cli import main

    class NoisySource:  # a plugin's source whose native code writes to descriptor 1 as the records come
        def __init__(self, path: str):
            self.path = path

        def __iter__(self):
            with open(self.path, encoding="utf-8") as handle:
                for line in handle:
                    os.write(1, b"native noise\\n")
                    ctypes.CDLL(None).printf(b"printf noise\\n")
                    yield line.rstrip("\\n")

    class Plugin:
        @tsae.hookimpl
        def register_sources(self, register):
            register("noisy", NoisySource)

    tsae.register_plugin(Plugin(), "noisy_source")
    sys.argv = ["tsae", *sys.argv[1:]]
    main()
    """


@posix_only
@pytest.mark.slow  # a detector is fitted (a few seconds)
def test_what_a_plugin_writes_to_descriptor_1_stays_out_of_the_monitors_json_lines(tmp_path) -> None:
    # before: "native noise" and "printf noise" lines between the JSON records
    import json

    import numpy as np
    from click.testing import CliRunner

    from tsae.cli import cli

    data = tmp_path / "x.csv"
    data.write_text("time,a,b\n" + "".join(f"{i},{np.sin(i / 9):.4f},{np.cos(i / 7):.4f}\n" for i in range(400)))
    fit = CliRunner().invoke(cli, ["detect", "fit", str(data), "-o", str(tmp_path / "d.tsad"), "--epochs", "1",
                                   "--window", "16", "-q"])
    assert fit.exit_code == 0, fit.output
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_PLUGIN), "monitor", "--detector",
                           str(tmp_path / "d.tsad"), "--source", "noisy", "--source-option", f"path={data}",
                           "--every-sample", "-q"], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.decode().splitlines()]  # every line a record
    assert len(records) > 300 and records[-1]["type"] == "summary"
    assert proc.stderr.count(b"native noise\n") == 401 and proc.stderr.count(b"printf noise\n") == 401


@posix_only
@pytest.mark.slow  # the denoiser runs in a fresh process (a few seconds)
def test_what_native_code_writes_to_descriptor_1_stays_out_of_denoise_dash_audio(tmp_path) -> None:
    # before: the bytes landed inside the WAV stream on stdout
    import io

    import numpy as np
    import soundfile as sf

    wav = tmp_path / "in.wav"
    sf.write(wav, 0.1 * np.random.default_rng(1).normal(size=8000), 16000, subtype="PCM_16")
    with open(wav, "rb") as stdin:
        proc = _python("""
            import os, sys
            from tsae.cli import main
            from tsae.pipelines.denoise import denoiser

            feed = denoiser.StreamingDenoiser.feed

            def noisy_feed(self, chunk):  # the network's native code runs inside feed
                os.write(1, b"native noise\\n")
                return feed(self, chunk)

            denoiser.StreamingDenoiser.feed = noisy_feed
            sys.argv = ["tsae", "denoise", "-", "-q"]
            main()
            """, stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    assert b"native noise" not in proc.stdout and b"native noise" in proc.stderr
    assert sf.read(io.BytesIO(proc.stdout))[0].shape == (8000,)


@posix_only
@pytest.mark.slow  # a fresh process that imputes (a few seconds)
def test_what_native_code_writes_to_descriptor_1_stays_out_of_dash_o_dash(tmp_path) -> None:
    # `tsae impute x.csv -o -`: the output is copied to stdout once the command is done; before, bytes written to
    # descriptor 1 meanwhile came first, above the CSV header
    table = tmp_path / "x.csv"
    table.write_text("a,b\n" + "".join(f"{i},{'' if i % 7 == 3 else -i}\n" for i in range(60)))
    proc = _python(f"""
        import os, sys
        import tsae.pipelines.smooth.files as files
        from tsae.cli import main

        impute = files.impute_file

        def noisy(*args, **kwargs):  # a plugin's native code, run inside the command
            os.write(1, b"native noise\\\\n")
            return impute(*args, **kwargs)

        files.impute_file = noisy
        sys.argv = ["tsae", "impute", {str(table)!r}, "-o", "-", "-q"]
        main()
        """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(b"a,b\n") and b"native noise" not in proc.stdout, proc.stdout[:80]
    assert b"native noise" in proc.stderr
