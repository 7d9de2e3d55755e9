"""The benchmarks' oracle judge: it knows the clean image and keeps whatever raises PSNR."""

from __future__ import annotations

import numpy as np

from restora.agent import DefaultJudge
from restora.bench.agent import OracleJudge
from restora.types import Analysis, QualityScore


class CleanAnalyzer:
    def analysis(self, image: np.ndarray) -> Analysis:
        return Analysis((), "a photo", QualityScore(50.0, "fair", "test"), scores={})


def test_the_oracle_keeps_a_result_that_gains_less_than_the_agents_final_margin() -> None:
    rng = np.random.default_rng(0)
    target = rng.random((48, 48, 3)).astype(np.float32)
    received = np.clip(target + rng.normal(0, 0.05, target.shape), 0, 1).astype(np.float32)
    # a result 0.5 dB closer to the truth: a real gain, under the default judge's +1
    better = (target + (received - target) * 10 ** (-0.5 / 20)).astype(np.float32)
    worse = np.clip(received + rng.normal(0, 0.02, target.shape), 0, 1).astype(np.float32)
    oracle = OracleJudge.around(DefaultJudge(analyzer=CleanAnalyzer()), target)
    before = oracle.assess(received)
    gain = oracle.assess(better).quality - before.quality
    assert 0.4 < gain < 0.6 < DefaultJudge().final_margin
    assert oracle.improves(received, before, better, oracle.assess(better), ())[0]
    assert not oracle.improves(received, before, worse, oracle.assess(worse), ())[0]
