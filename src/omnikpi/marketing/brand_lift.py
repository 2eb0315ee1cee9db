"""Brand lift: did exposure to a campaign raise awareness (consideration, ...)?

Per question, the share of positive answers (aware: yes) of exposed respondents against the
control's: the difference in points with its Wald interval, relative lift (log-ratio
interval), pooled z-test (`omnikpi.marketing.experiments.two_proportion_test`),
P(exposed > control) under uniform priors (`beta_binomial`) and Holm-adjusted p-values over
the questions.

    >>> study = brand_lift({"awareness": (Counts(31, 100), Counts(38, 100))})
    >>> round(study.questions[0].test.difference, 2)
    0.07
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omnikpi.errors import DataError, InvalidChoice
from omnikpi.marketing.experiments import (
    Counts,
    ProportionTestResult,
    beta_binomial,
    check_alpha,
    holm_adjust,
    two_proportion_test,
)

__all__ = ["BrandLift", "BrandLiftQuestion", "brand_lift", "tally_answers"]


@dataclass(frozen=True)
class BrandLiftQuestion:
    """One survey question: positive answers among control and exposed respondents, the
    test of exposed against control, its Holm-adjusted p-value over the study's questions
    and P(exposed rate > control rate) under uniform priors."""

    question: str
    control: Counts
    exposed: Counts
    test: ProportionTestResult
    adjusted_p_value: float
    prob_exposed_higher: float

    def row(self) -> dict[str, Any]:
        t = self.test
        return {
            "question": self.question,
            "control_respondents": self.control.units,
            "control_positive": self.control.conversions,
            "control_rate": t.control_rate,
            "exposed_respondents": self.exposed.units,
            "exposed_positive": self.exposed.conversions,
            "exposed_rate": t.treatment_rate,
            "lift_points": t.difference,
            "lift_points_ci_low": t.difference_ci_low,
            "lift_points_ci_high": t.difference_ci_high,
            "relative_lift": t.lift,
            "relative_lift_ci_low": t.ci_low,
            "relative_lift_ci_high": t.ci_high,
            "z": t.z,
            "p_value": t.p_value,
            "adjusted_p_value": self.adjusted_p_value,
            "prob_exposed_higher": self.prob_exposed_higher,
        }


@dataclass(frozen=True)
class BrandLift:
    """A brand-lift study: one readout per question, in the order given."""

    questions: tuple[BrandLiftQuestion, ...]
    alpha: float

    def as_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "correction": "holm",
            "questions": [q.row() for q in self.questions],
        }


def tally_answers(answers: Iterable[tuple[str, str, bool]]) -> dict[str, tuple[Counts, Counts]]:
    """(group, question, positive) per answer → question → (control, exposed) counts of
    positive answers among respondents; `group` is "control" or "exposed".

    >>> tally_answers([("control", "aware", True), ("exposed", "aware", False)])["aware"]
    (Counts(conversions=1, units=1), Counts(conversions=0, units=1))
    """
    tally: dict[str, list[list[int]]] = {}
    for group, question, positive in answers:
        if group not in ("control", "exposed"):
            raise InvalidChoice("group", group, "control or exposed")
        cell = tally.setdefault(question, [[0, 0], [0, 0]])[group == "exposed"]
        cell[0] += int(positive)
        cell[1] += 1
    return {
        question: (Counts(c[0], c[1]), Counts(e[0], e[1])) for question, (c, e) in tally.items()
    }


def brand_lift(answers: Mapping[str, tuple[Counts, Counts]], alpha: float = 0.05) -> BrandLift:
    """Each question's exposed share of positive answers against the control's (see the
    module docstring); `answers` maps a question to (control, exposed) counts."""
    check_alpha(alpha)
    if not answers:
        raise DataError("no survey answers (give answers of exposed and control respondents)")
    for question, (control, exposed) in answers.items():
        if control.units == 0 or exposed.units == 0:
            missing = "control" if control.units == 0 else "exposed"
            raise DataError(
                f'question "{question}" has no {missing} respondents (both groups are needed)'
            )
    tests = {
        q: two_proportion_test(c.check(f"{q}.control"), e.check(f"{q}.exposed"), alpha)
        for q, (c, e) in answers.items()
    }
    adjusted = holm_adjust([test.p_value for test in tests.values()])
    return BrandLift(
        questions=tuple(
            BrandLiftQuestion(
                question=q,
                control=answers[q][0],
                exposed=answers[q][1],
                test=test,
                adjusted_p_value=p,
                prob_exposed_higher=beta_binomial(*answers[q]).prob_b_beats_a,
            )
            for (q, test), p in zip(tests.items(), adjusted, strict=True)
        ),
        alpha=alpha,
    )
