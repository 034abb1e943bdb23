"""The labelled series of scripts/eval_anomaly.py: the development set and the held-out set, never mixed.

- dev: the series in /work/shared/data/anomaly (31 NAB + 16 SKAB valve1), as listed in its manifest.csv.
- heldout: the NAB series that are not in the dev set (the other 27 of NAB's 58) and SKAB's valve2 and other
  experiments (18), read at run time from git mirrors of numenta/NAB and waico/SKAB (never copied).

Protocol of /work/shared/data/anomaly/README.md, applied the same way to both sets: NAB labels are 1 inside
NAB's combined windows (labels/combined_windows.json, ends included) and ``train_end`` is NAB's probationary
period, ``floor(0.15 * rows)`` (what manifest.csv holds for every dev series); SKAB labels are its ``anomaly``
column and ``train_end`` is 400 rows, or the first anomalous row if earlier.
"""
from __future__ import annotations

import io
import json
import math
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NAB_URL = "https://github.com/numenta/NAB"
SKAB_URL = "https://github.com/waico/SKAB"
DEV_DATA = Path("/work/shared/data/anomaly")
NAB_MIRROR = Path("/work/.mirror/numenta+NAB/repo")
SKAB_MIRROR = Path("/work/.mirror/waico+SKAB/repo")
SKAB_NORMAL_ROWS = 400


@dataclass
class Series:
    """One labelled series: values ``X`` (rows, sensors), 0/1 ``labels`` (rows,), rows ``[0, train_end)`` normal,
    ``interval``: the median seconds between its timestamps (None for a series without them); ``times``: the
    timestamps themselves (datetime64, None without them)."""

    source: str  # "NAB" or "SKAB"
    name: str
    X: np.ndarray
    labels: np.ndarray
    train_end: int
    interval: float | None = None
    times: np.ndarray | None = None


class MirrorError(RuntimeError):
    """A source repository is not where it was expected, or lacks a file."""


def nab_train_end(rows: int) -> int:
    """NAB's probationary period: the first 15% of the rows."""
    return math.floor(0.15 * rows)


def skab_train_end(labels: np.ndarray) -> int:
    """SKAB's normal part: 400 rows, or up to the first anomalous row if that comes earlier."""
    anomalous = np.flatnonzero(labels)
    return int(min(SKAB_NORMAL_ROWS, anomalous[0] if len(anomalous) else SKAB_NORMAL_ROWS))


def median_interval(timestamps: np.ndarray) -> float:
    """The median seconds between consecutive ``timestamps`` (date-time strings)."""
    import pandas as pd

    steps = np.diff(pd.to_datetime(pd.Series(timestamps)).to_numpy()) / np.timedelta64(1, "s")
    return float(np.median(steps))


def window_labels(timestamps: np.ndarray, windows: list[list[str]]) -> np.ndarray:
    """1 where a timestamp lies inside one of NAB's ``[start, end]`` windows (ends included)."""
    import pandas as pd

    ts = pd.to_datetime(pd.Series(timestamps)).to_numpy()
    labels = np.zeros(len(ts), dtype=np.int8)
    for start, end in windows:
        labels[(ts >= np.datetime64(pd.Timestamp(start))) & (ts <= np.datetime64(pd.Timestamp(end)))] = 1
    return labels


class Mirror:
    """A bare git repository read at its HEAD commit with ``git show`` (no work tree, nothing copied)."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = Path(path)
        self.url = url
        if not (self.path / "HEAD").is_file():
            name = url.rsplit("/", 2)[-2] + "/" + url.rsplit("/", 1)[-1]
            raise MirrorError(f"{self.path}: no git repository of {name} here; get one with "
                              f"`git clone --bare {url} {self.path}` (or pass its path)")
        self.commit = self._git("rev-parse", "HEAD").decode().strip()

    def _git(self, *args: str) -> bytes:
        run = subprocess.run(["git", f"--git-dir={self.path}", *args], capture_output=True)
        if run.returncode:
            raise MirrorError(f"{self.path}: git {' '.join(args)}: {run.stderr.decode().strip()}")
        return run.stdout

    def files(self, folder: str) -> list[str]:
        """Paths of the files under ``folder`` at HEAD."""
        return self._git("ls-tree", "-r", "--name-only", "HEAD", folder).decode().split()

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` at HEAD."""
        return self._git("show", f"HEAD:{path}")


def _dev_names(dev_dir: Path) -> list[str]:
    import pandas as pd

    return list(pd.read_csv(dev_dir / "manifest.csv")["file"])


def read_dev_csv(path: Path) -> tuple[np.ndarray, np.ndarray, list[str], float | None]:
    """One CSV of the development set: values (rows, sensors), 0/1 labels (zeros without a label column),
    sensor names, the median seconds between timestamps (None without a timestamp column)."""
    import pandas as pd

    df = pd.read_csv(path)
    labels = df["label"].to_numpy() if "label" in df else np.zeros(len(df), dtype=np.int8)
    interval = median_interval(df["timestamp"].to_numpy()) if "timestamp" in df else None
    X = df.drop(columns=[c for c in ("timestamp", "label") if c in df])
    return X.to_numpy(dtype=np.float64), labels, list(X.columns), interval


def as_dates(timestamps: np.ndarray) -> np.ndarray:
    """Date-time strings as ``datetime64[ns]``."""
    import pandas as pd

    return pd.to_datetime(pd.Series(timestamps)).to_numpy(dtype="datetime64[ns]")


def dev_series(dev_dir: Path) -> Iterator[Series]:
    """The development series of ``dev_dir`` (manifest.csv order), ``train_end`` from the manifest."""
    import pandas as pd

    manifest = pd.read_csv(dev_dir / "manifest.csv")
    for item in manifest.itertuples():
        X, labels, _, interval = read_dev_csv(dev_dir / item.file)
        stamps = pd.read_csv(dev_dir / item.file, usecols=lambda c: c == "timestamp")
        times = as_dates(stamps["timestamp"].to_numpy()) if "timestamp" in stamps else None
        yield Series("NAB" if item.file.startswith("nab_") else "SKAB", item.file.removesuffix(".csv"), X,
                     labels, int(item.train_end), interval, times)


def heldout_nab(nab: Mirror, dev_dir: Path) -> Iterator[Series]:
    """NAB's series that the dev set lacks, labelled with NAB's combined windows."""
    import pandas as pd

    dev = set(_dev_names(dev_dir))
    windows = json.loads(nab.read("labels/combined_windows.json"))
    for path in sorted(f for f in nab.files("data") if f.endswith(".csv")):
        key = path.removeprefix("data/")
        if f"nab_{key.replace('/', '_')}" in dev:
            continue
        df = pd.read_csv(io.BytesIO(nab.read(path)))
        labels = window_labels(df["timestamp"].to_numpy(), windows.get(key, []))
        yield Series("NAB", key.removesuffix(".csv"), df[["value"]].to_numpy(dtype=np.float64), labels,
                     nab_train_end(len(df)), median_interval(df["timestamp"].to_numpy()),
                     as_dates(df["timestamp"].to_numpy()))


def heldout_skab(skab: Mirror) -> Iterator[Series]:
    """SKAB's valve2 and other experiments (valve1 is in the dev set)."""
    import pandas as pd

    paths = [f for folder in ("data/valve2", "data/other") for f in skab.files(folder) if f.endswith(".csv")]
    for path in sorted(paths, key=lambda p: (p.rsplit("/", 1)[0], int(Path(p).stem))):
        df = pd.read_csv(io.BytesIO(skab.read(path)), sep=";")
        labels = df["anomaly"].to_numpy().astype(np.int8)
        X = df.drop(columns=["datetime", "anomaly", "changepoint"]).to_numpy(dtype=np.float64)
        yield Series("SKAB", path.removeprefix("data/").removesuffix(".csv"), X, labels, skab_train_end(labels),
                     median_interval(df["datetime"].to_numpy()), as_dates(df["datetime"].to_numpy()))


def labelled_set(name: str, dev_dir: Path = DEV_DATA, nab_repo: Path = NAB_MIRROR,
                 skab_repo: Path = SKAB_MIRROR) -> tuple[list[Series], dict[str, object]]:
    """The series of set ``name`` (``"dev"`` or ``"heldout"``) and where they came from (paths, repositories,
    commits): the development folder, or the NAB and SKAB mirrors less the development series."""
    dev_dir = dev_dir.resolve()
    if not (dev_dir / "manifest.csv").is_file():
        raise MirrorError(f"{dev_dir}: no manifest.csv (the development set; pass --data DIR)")
    if name == "dev":
        return list(dev_series(dev_dir)), {"dev": str(dev_dir)}
    nab, skab = Mirror(nab_repo, NAB_URL), Mirror(skab_repo, SKAB_URL)
    origin = {"NAB": {"repo": NAB_URL, "commit": nab.commit, "licence": "MIT"},
              "SKAB": {"repo": SKAB_URL, "commit": skab.commit, "licence": "GPL-3.0"},
              "excluded": f"the series of {dev_dir}"}
    return [*heldout_nab(nab, dev_dir), *heldout_skab(skab)], origin
