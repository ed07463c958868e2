"""The Ray engine against a real local Ray started here (2 CPUs, 2 actors, the real model): its output
files equal the local engine's byte for byte, in-process and through the command line pointed at
the running cluster with --address."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

# Keep the test's Ray on 127.0.0.1 (Ray's "this machine only" switch, read when ray is imported).
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
ray = pytest.importorskip("ray")

from matcher import Matcher  # noqa: E402
from matcher.batch import BatchOptions, run  # noqa: E402
from matcher.batch.ray_engine import RayEngine  # noqa: E402
from matcher.settings import Settings  # noqa: E402
from tests import ROOT  # noqa: E402

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def cluster():
    """A local Ray with 2 CPUs for this module; its GCS address; always shut down."""
    from ray._private import ray_constants

    saved = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False  # in case ray was imported before this module set the switch
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        address = ray.get_runtime_context().gcs_address
        assert address.startswith("127.0.0.1:"), address
        yield address
    finally:
        ray.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = saved


@pytest.fixture(scope="module")
def job(tmp_path_factory, real_embedder):
    """Input with good and bad rows, settings (torch, a fresh index) and the local engine's outputs."""
    tmp = tmp_path_factory.mktemp("ray-batch")
    texts = [json.loads(line)["text"] for line in (ROOT / "eval" / "test.jsonl").read_text().splitlines()]
    rows = [json.dumps({"id": f"t{i:02d}", "text": texts[i]}) for i in range(12)]
    rows[3] = json.dumps({"id": "t03", "text": ""})
    rows[7] = "{not json"
    src = tmp / "in.jsonl"
    src.write_text("\n".join(rows) + "\n")
    settings = replace(Settings(), scorer="similarity",
                       corpus_dir=ROOT / "corpus", index_dir=tmp / "index", backend="torch")
    local = Matcher.load(settings, embedder=real_embedder)  # builds the index the actors then load
    outputs = {}
    for name, kw in (("all.jsonl", {}), ("shortlist.csv", {"role": "ml-pm"})):
        outputs[name] = tmp / f"local-{name}"
        run(BatchOptions(str(src), outputs[name], chunk_size=3, **kw), settings, matcher=local, stderr=io.StringIO())
    return src, settings, outputs, tmp


def test_ray_actors_match_the_local_engine_byte_for_byte(cluster, job):
    src, settings, local, tmp = job
    engine = RayEngine(settings, actors=2).start()
    try:
        assert len(engine.actors) == 2
        for name, kw in (("all.jsonl", {}), ("shortlist.csv", {"role": "ml-pm"})):
            out = tmp / f"ray-{name}"
            summary = run(BatchOptions(str(src), out, chunk_size=3, **kw), settings, engine=engine,
                          stderr=io.StringIO())
            assert (summary.total, summary.failed) == (12, 2)
            assert out.read_bytes() == local[name].read_bytes(), name
    finally:
        engine.close()
    assert ray.is_initialized(), "an engine that did not start Ray must not shut it down"


def test_command_line_on_an_existing_cluster(cluster, job):
    src, settings, local, tmp = job
    out = tmp / "cli.jsonl"
    env = {**os.environ, "MATCHER_INDEX_DIR": str(settings.index_dir), "MATCHER_BACKEND": "torch",
           "HF_HUB_OFFLINE": "1", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "score.py"), str(src), "-o", str(out),
                           "--chunk-size", "3", "--engine", "ray", "--address", cluster, "--actors", "2"],
                          env=env, cwd=ROOT, capture_output=True, timeout=300)
    assert proc.returncode == 1, proc.stderr.decode()[-2000:]  # two bad rows
    assert "12 candidates: 10 scored, 2 failed" in proc.stderr.decode()
    assert out.read_bytes() == local["all.jsonl"].read_bytes()
