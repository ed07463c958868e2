"""The one settings object: MATCHER_* variables, a command's flags over them, and back to variables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from matcher.errors import SettingsError
from matcher.files import atomic_write
from matcher.settings import Settings


def test_flags_override_the_environment_and_travel_back_through_it(tmp_path):
    args = argparse.Namespace(catalog="cafe", index_dir=str(tmp_path), backend="torch", workers=None)
    settings = Settings.from_args(args, env={"MATCHER_BACKEND": "openvino", "MATCHER_WORKERS": "3"})
    assert (settings.catalog, settings.index_dir, settings.backend, settings.workers) == ("cafe", tmp_path, "torch", 3)
    assert Settings.from_env(settings.to_env("catalog", "index_dir", "backend", "workers")) == settings


def test_a_bad_flag_is_named_as_the_flag():
    with pytest.raises(SettingsError, match="--workers must be at least 1"):
        Settings.from_args(argparse.Namespace(workers=0), env={})
    with pytest.raises(SettingsError, match="MATCHER_WORKERS must be at least 1"):
        Settings.from_env({"MATCHER_WORKERS": "0"})


def test_an_atomic_write_that_fails_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "file.json"
    atomic_write(target, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", broken_replace)
    with pytest.raises(OSError):
        atomic_write(target, b"new")
    assert target.read_bytes() == b"old" and [p.name for p in Path(tmp_path).iterdir()] == ["file.json"]
