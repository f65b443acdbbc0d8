"""Progress reports: ``verbose=1`` says what the long steps are doing, 0 says nothing."""

import logging
import re
import subprocess
import sys

import numpy as np
import pytest

from skconv import KMeansConv, LayerwiseStack, MiniRocket, Pool, RandomConv, ReceptiveFieldConv
from skconv import _progress
from skconv._progress import Progress, duration

RNG = np.random.default_rng(0)
IMAGES = RNG.random((120, 12, 12, 3))
SIGNALS = RNG.standard_normal((40, 60))


def _messages(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "skconv"]


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.DEBUG, logger="skconv")
    return caplog


def _card(verbose):
    conv = KMeansConv(16, 3, n_patches=2000, max_iter=5, batch_size=16, verbose=verbose,
                      random_state=0)
    return conv, Pool(grid=2)


def test_verbose_0_says_nothing_anywhere(log, capsys):
    conv, pool = _card(0)
    pool.fit_transform(conv.fit_transform(IMAGES))
    LayerwiseStack([RandomConv(4, 3), Pool(size=2, method="max")], pool=Pool(),
                   random_state=0).fit_transform(IMAGES)
    MiniRocket(n_features=168, random_state=0).fit_transform(SIGNALS)
    assert _messages(log) == []
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_verbose_1_reports_the_kmeans_fit(log):
    conv, _ = _card(1)
    conv.fit(IMAGES)
    text = "\n".join(_messages(log))
    assert re.search(r"KMeansConv fit: 2,000 patches of 27 values drawn in", text)
    assert "Lloyd k-means of 2,000 patches of 27 values into 16 centroids" in text
    # the iterations, with their rate, and the end of the fit
    assert re.search(r"Lloyd: 5/5 iterations \(100 %\), [\d.,]+ iterations/s, done in", text)
    assert re.search(r"KMeansConv fit: 16 filters of shape \(3, 3, 3\) from 120 samples", text)


@pytest.mark.parametrize("algorithm, init", [("kmeans", "k-means++"), ("spherical", "k-means++"),
                                             ("minibatch", "k-means++")])
def test_every_kmeans_algorithm_reports(log, algorithm, init):
    KMeansConv(8, 3, n_patches=1000, max_iter=3, algorithm=algorithm, init=init, verbose=1,
               random_state=0).fit(IMAGES)
    text = "\n".join(_messages(log))
    assert "k-means of 1,000 patches" in text
    if init == "k-means++" and algorithm != "minibatch":
        assert re.search(r"k-means\+\+ seeding: 8/8 centres", text)
    assert re.search(r"(iterations|passes)", text)


def test_a_long_transform_reports_batches_rate_and_time_left(log):
    conv, pool = _card(0)
    conv.fit(IMAGES)
    conv.set_params(verbose=2)
    features = pool.fit_transform(conv.transform(IMAGES))
    reports = [m for m in _messages(log) if m.startswith("KMeansConv transform")]
    # 120 samples in batches of 16: 8 batches, every one reported at verbose=2
    assert len(reports) == 8
    for i, m in enumerate(reports[:-1]):
        assert re.search(r"batch \d/8, \d+/120 samples \(\d+ %\), [\d.,]+ samples/s, .* left$", m)
    assert re.search(r"batch 8/8, 120/120 samples \(100 %\), .*done in", reports[-1])
    # reporting changes nothing
    quiet, _ = _card(0)
    assert np.array_equal(features, pool.transform(quiet.fit(IMAGES).transform(IMAGES)))


def test_verbose_1_reports_a_transform_at_least_once_at_the_end(log):
    conv, pool = _card(1)
    pool.fit_transform(conv.fit(IMAGES).transform(IMAGES))
    ends = [m for m in _messages(log) if m.startswith("KMeansConv transform") and "done" in m]
    assert len(ends) == 1 and "120/120 samples (100 %)" in ends[0]


def test_pool_reports_on_plain_arrays_and_defers_to_reporting_maps(log):
    Pool(grid=2, batch_size=30, verbose=1).fit_transform(IMAGES)
    assert any(m.startswith("Pool transform: ") and "done" in m for m in _messages(log))
    log.clear()
    conv, pool = _card(1)
    pool.set_params(verbose=1).fit_transform(conv.fit(IMAGES).transform(IMAGES))
    heads = {m.split(":")[0] for m in _messages(log) if "samples/s" in m}
    assert heads == {"KMeansConv transform"}  # one report for one pass over the data


def test_stack_reports_each_layer_and_the_pooled_pass(log):
    stack = LayerwiseStack(
        [("conv1", KMeansConv(8, 3, n_patches=1000, max_iter=3)),
         ("pool1", Pool(size=2, method="max")),
         ("conv2", ReceptiveFieldConv(KMeansConv(4, 2, n_patches=500, max_iter=3),
                                      n_groups=2, group_size=4, verbose=1))],
        fit_subset=60, concat=["conv1", "conv2"], random_state=0, verbose=1,
    )
    features = stack.fit_transform(IMAGES)
    text = "\n".join(_messages(log))
    for k, name in enumerate(["conv1", "pool1", "conv2"], start=1):
        assert re.search(rf"LayerwiseStack fit: layer {k}/3 '{name}' \(\w+\) fitted on 60 "
                         r"samples in", text)
    assert "ReceptiveFieldConv fit: 2 groups of 4 of the 8 channels (correlation)" in text
    assert re.search(r"ReceptiveFieldConv fit: 2/2 groups \(100 %\)", text)
    assert re.search(r"LayerwiseStack transform: .*120/120 samples \(100 %\)", text)
    assert np.array_equal(features, stack.set_params(verbose=0, conv2__verbose=0)
                          .fit_transform(IMAGES))


def test_minirocket_reports_fit_and_transform(log):
    rocket = MiniRocket(n_features=168, random_state=0, verbose=1).fit(SIGNALS)
    rocket.transform(SIGNALS)
    rocket.transform([s[: 30 + i] for i, s in enumerate(SIGNALS)])  # lengths differ
    text = "\n".join(_messages(log))
    assert re.search(r"MiniRocket fit: \d+ dilations, 168 features from 40 signals", text)
    assert len(re.findall(r"MiniRocket transform: .*40/40 samples \(100 %\)", text)) == 2


def test_progress_counts_rate_and_time_left(monkeypatch, log):
    clock = iter([0.0, 10.0, 11.0, 40.0])
    monkeypatch.setattr(_progress.time, "perf_counter", lambda: next(clock))
    p = Progress(1, "work", 400, n_steps=4)
    p.update(100)  # at 10 s: 10 samples/s, 300 left -> 30 s
    p.update(100)  # at 11 s: under 2 s since the last report, silent
    p.update(200)  # at 40 s: the end is always reported
    assert _messages(log) == [
        "work: batch 1/4, 100/400 samples (25 %), 10.0 samples/s, 30.0 s left",
        "work: batch 3/4, 400/400 samples (100 %), 10.0 samples/s, done in 40.0 s",
    ]


def test_durations_read_naturally():
    assert duration(0.04) == "0.0 s"
    assert duration(12.34) == "12.3 s"
    assert duration(61) == "0:01:01"
    assert duration(3 * 3600 + 5) == "3:00:05"


@pytest.mark.parametrize("verbose", [-1, 1.5, "yes", None])
def test_a_bad_verbose_is_named(verbose):
    with pytest.raises((TypeError, ValueError), match="verbose"):
        KMeansConv(4, 3, verbose=verbose).fit(IMAGES)


def test_without_logging_configured_verbose_prints_to_stderr():
    code = (
        "import numpy as np; from skconv import KMeansConv\n"
        "X = np.random.default_rng(0).random((20, 8, 8))\n"
        "KMeansConv(4, 3, n_patches=200, max_iter=2, random_state=0, verbose={v}).fit(X)\n"
    )
    runs = [subprocess.run([sys.executable, "-c", code.format(v=v)], capture_output=True,
                           text=True, check=True) for v in (0, 1)]
    assert runs[0].stdout == runs[0].stderr == ""
    assert runs[1].stdout == ""
    assert re.search(r"^\[skconv\] KMeansConv fit: 4 filters", runs[1].stderr, re.MULTILINE)
