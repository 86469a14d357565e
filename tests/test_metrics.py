"""The evaluation report agrees with scikit-learn on a hand-made example."""

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from quoteframe.labels import LABELS
from quoteframe.training.metrics import (
    bootstrap_interval,
    evaluate_predictions,
    expected_calibration_error,
    macro_f1,
    paired_bootstrap,
    resampled_rows,
)

Q, N, L = LABELS
GOLD = [Q, Q, Q, N, N, N, N, L, L, L]
PRED = [Q, Q, N, N, N, L, N, L, N, Q]


def test_scores_match_scikit_learn() -> None:
    report = evaluate_predictions(GOLD, PRED)
    p, r, f, s = precision_recall_fscore_support(GOLD, PRED, labels=list(LABELS), zero_division=0)
    for i, label in enumerate(LABELS):
        got = report.per_class[label]
        assert (got.precision, got.recall, got.f1, got.support) == pytest.approx((p[i], r[i], f[i], s[i]))
    assert report.macro_f1 == pytest.approx(f1_score(GOLD, PRED, average="macro"))
    assert report.confusion == confusion_matrix(GOLD, PRED, labels=list(LABELS)).tolist()
    assert report.accuracy == pytest.approx(0.6)
    # By hand: direct_quote P 2/3 R 2/3; neutral P 3/5 R 3/4; loaded P 1/2 R 1/3.
    assert report.per_class[Q].f1 == pytest.approx(2 / 3)
    assert report.per_class[N].f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert report.per_class[L].f1 == pytest.approx(0.4)
    assert report.ece is None
    assert "macro-F1" in report.format_table("t")


def test_expected_calibration_error_by_hand() -> None:
    probabilities = np.array([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    gold = np.array([0, 1, 0, 1])
    # bins: (0.8, 0.9] holds rows 0-1, accuracy 0.5 vs confidence 0.9; (0.5, 0.6] row 2: 1.0 vs 0.6;
    # (0.6, 0.7] row 3: 1.0 vs 0.7.  ECE = 0.5*0.4 + 0.25*0.4 + 0.25*0.3
    assert expected_calibration_error(probabilities, gold) == pytest.approx(0.2 + 0.1 + 0.075)


def test_rejects_unknown_labels_and_length_mismatch() -> None:
    with pytest.raises(ValueError, match="unknown labels"):
        evaluate_predictions([Q], ["quote"])
    with pytest.raises(ValueError, match="1 gold labels but 2"):
        evaluate_predictions([Q], [Q, Q])


def test_paired_bootstrap_by_hand() -> None:
    gold = ["direct_quote", "neutral_paraphrase", "loaded_paraphrase"] * 20
    same = paired_bootstrap(gold, gold, gold, resamples=200)
    assert (same.difference, same.low, same.high, same.b_better) == (0.0, 0.0, 0.0, 0.0)

    # A calls every loaded sentence neutral; B gets everything right.
    worse = ["neutral_paraphrase" if g == "loaded_paraphrase" else g for g in gold]
    result = paired_bootstrap(gold, worse, gold, resamples=200)
    expected_a = f1_score(gold, worse, labels=list(LABELS), average="macro", zero_division=0)
    assert result.macro_f1_a == pytest.approx(expected_a)
    assert result.macro_f1_b == 1.0
    assert result.difference == pytest.approx(1.0 - expected_a)
    assert 0 < result.low <= result.difference <= result.high
    assert result.b_better == 1.0
    with pytest.raises(ValueError, match="predictions"):
        paired_bootstrap(gold, worse[:-1], gold)


def test_resamples_draw_whole_articles() -> None:
    groups = ["a"] * 3 + ["b"] * 5 + ["c"]
    for rows in resampled_rows(groups, len(groups), resamples=50, seed=1):
        drawn = [groups[i] for i in rows]
        # every article drawn k times brings all its rows k times, in one block each
        assert all(drawn.count(g) % groups.count(g) == 0 for g in set(drawn))
        assert len(set(drawn)) <= 3
    with pytest.raises(ValueError, match="9 rows but 2 group ids"):
        next(resampled_rows(["a", "b"], 9, resamples=1, seed=0))


def test_one_article_per_row_resamples_like_rows() -> None:
    gold = ["direct_quote", "neutral_paraphrase", "loaded_paraphrase"] * 10
    predicted = gold[:25] + ["neutral_paraphrase"] * 5
    by_rows = bootstrap_interval(gold, predicted, resamples=200)
    by_singletons = bootstrap_interval(gold, predicted, [str(i) for i in range(30)], resamples=200)
    assert (by_rows.low, by_rows.high) == (by_singletons.low, by_singletons.high)
    assert by_rows.units == by_singletons.units == 30


def test_errors_packed_in_one_article_widen_the_interval() -> None:
    # 10 articles of 10 sentences; every error sits in article 0, so whether a resample draws it (and
    # how often) moves the score far more than ten independent wrong sentences would.
    gold = ["direct_quote", "neutral_paraphrase", "loaded_paraphrase", "neutral_paraphrase", "direct_quote"] * 20
    groups = [f"art{i // 10}" for i in range(100)]
    predicted = ["neutral_paraphrase" if i < 10 else g for i, g in enumerate(gold)]
    by_rows = bootstrap_interval(gold, predicted, resamples=500)
    by_articles = bootstrap_interval(gold, predicted, groups, resamples=500)
    assert by_articles.macro_f1 == by_rows.macro_f1 == macro_f1(gold, predicted)
    assert by_articles.units == 10
    assert by_articles.high == 1.0  # some resamples leave article 0 out
    assert by_articles.high - by_articles.low > by_rows.high - by_rows.low
    paired = paired_bootstrap(gold, predicted, gold, resamples=500, groups=groups)
    assert paired.units == 10
    assert paired.low == 0.0  # resamples without article 0 show no difference


def test_macro_f1_averages_over_the_labels_gold_holds() -> None:
    # A slice without a single gold direct quote: two labels to average, not three.
    gold, predicted = [N, N, L, L], [N, L, L, L]
    report = evaluate_predictions(gold, predicted)
    assert report.macro_f1 == pytest.approx(f1_score(gold, predicted, labels=[N, L], average="macro"))
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert report.per_class[Q].support == 0
    assert "(over the labels gold holds; none of direct_quote)" in report.format_table()
    # A quote predicted there costs the neutral label its recall, not a third of the score.
    assert macro_f1(gold, [Q, N, L, L]) == pytest.approx((2 / 3 + 1.0) / 2)
    assert macro_f1([], []) == 0.0
