"""Ratings from pairwise judgements: one Bradley-Terry model over every judgement in the home.

Each judgement says which of two queued ideas was better (`pairwise_judgements`: the critic's in a
tournament, the reviewer's in the review page's compare mode). The model gives each idea a strength
theta; the idea shown first wins with probability sigmoid(theta_first - theta_second + h), where h is
the judge's position bias (one for the reviewer, one for the models), fitted alongside so that a judge
who favours whichever idea it reads first does not bend the ratings. A tie counts half a win each.
A reviewer's choice weighs `HUMAN_WEIGHT` critic choices. A Gaussian prior (sd `PRIOR_SD`) keeps an
unbeaten idea's strength finite; the standard error is the posterior's (the Laplace approximation) of
the strength relative to the mean strength.

Ratings are shown on the Elo scale: 1500 + theta * 400 / ln 10, so 100 points apart means the higher
one wins about 64% of the time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from groundhog.store.database import Database
from groundhog.store.judgements import JudgementStore, replace_ratings

ELO_PER_LOGIT = 400.0 / math.log(10.0)
BASE_RATING = 1500.0
PRIOR_SD = 2.0  # logits: an idea's strength before it has played
BIAS_PRIOR_SD = 1.0  # logits: a judge's position bias
HUMAN_WEIGHT = 2.0


@dataclass(frozen=True)
class Game:
    """One judgement: `first` was shown first (on the left, or as idea A); `score` is first's result."""

    first: str
    second: str
    score: float  # 1 first won, 0 second won, 0.5 a tie
    judge: str = "human"
    weight: float = 1.0


@dataclass
class Rating:
    idea_id: str
    strength: float  # theta, logits
    sd: float  # its standard error, logits
    matches: int
    wins: float

    @property
    def rating(self) -> float:
        return BASE_RATING + self.strength * ELO_PER_LOGIT

    @property
    def sigma(self) -> float:
        return self.sd * ELO_PER_LOGIT


@dataclass
class Fit:
    ratings: dict[str, Rating] = field(default_factory=dict)
    position_bias: dict[str, float] = field(default_factory=dict)  # judge kind -> logits (+: first favoured)
    games: int = 0

    def strength(self, idea_id: str) -> float:
        found = self.ratings.get(idea_id)
        return found.strength if found else 0.0

    def sd(self, idea_id: str) -> float:
        found = self.ratings.get(idea_id)
        return found.sd if found else PRIOR_SD

    def order(self, ids: Iterable[str]) -> list[str]:
        """The ids best first (ties in the given order)."""
        ids = list(ids)
        return sorted(ids, key=lambda i: -self.strength(i))


def judge_kind(judge: str) -> str:
    return "human" if judge == "human" else "model"


def fit_bradley_terry(games: Sequence[Game], *, prior_sd: float = PRIOR_SD, max_iter: int = 60) -> Fit:
    """The maximum a-posteriori strengths and position biases, by Newton's method (the log posterior is
    concave, so it converges from zero in a handful of steps), with each strength's standard error."""
    import numpy as np

    if not games:
        return Fit()
    ids = sorted({g.first for g in games} | {g.second for g in games})
    kinds = sorted({judge_kind(g.judge) for g in games})
    index = {idea: n for n, idea in enumerate(ids)}
    n, k = len(ids), len(kinds)
    size = n + k
    a = np.array([index[g.first] for g in games])
    b = np.array([index[g.second] for g in games])
    h = np.array([n + kinds.index(judge_kind(g.judge)) for g in games])
    y = np.array([g.score for g in games], dtype=float)
    w = np.array([g.weight for g in games], dtype=float)
    precision = np.array([1.0 / prior_sd**2] * n + [1.0 / BIAS_PRIOR_SD**2] * k)

    def log_post(x: np.ndarray) -> float:
        d = x[a] - x[b] + x[h]
        # log sigmoid(d) = -log(1 + e^-d), computed stably
        ll = w * (y * -np.logaddexp(0.0, -d) + (1.0 - y) * -np.logaddexp(0.0, d))
        return float(ll.sum() - 0.5 * (precision * x * x).sum())

    def hessian(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        d = x[a] - x[b] + x[h]
        p = 1.0 / (1.0 + np.exp(-d))
        r = w * (y - p)
        grad = np.zeros(size)
        np.add.at(grad, a, r)
        np.add.at(grad, b, -r)
        np.add.at(grad, h, r)
        grad -= precision * x
        c = w * p * (1.0 - p)
        info = np.diag(precision).copy()  # the negative Hessian
        for (u, v), sign in (((a, a), 1), ((b, b), 1), ((h, h), 1), ((a, b), -1), ((b, a), -1)):
            np.add.at(info, (u, v), sign * c)
        for (u, v), sign in (((a, h), 1), ((h, a), 1), ((b, h), -1), ((h, b), -1)):
            np.add.at(info, (u, v), sign * c)
        return grad, info

    x = np.zeros(size)
    current = log_post(x)
    for _ in range(max_iter):
        grad, info = hessian(x)
        step = np.linalg.solve(info, grad)
        scale = 1.0
        while scale > 1e-4:
            trial = x + scale * step
            value = log_post(trial)
            if value >= current - 1e-12:
                break
            scale /= 2
        x, gain = trial, value - current
        current = value
        if float(np.max(np.abs(scale * step))) < 1e-7 or gain < 1e-10:
            break
    _, info = hessian(x)
    # Ratings are relative: the error that matters is of theta_i against the mean of the others, not of
    # theta_i itself (a shift of every strength together is pinned only by the prior).
    cov = np.linalg.inv(info)[:n, :n]
    centred = np.diag(cov) - 2 * cov.mean(axis=1) + cov.mean()
    sd = np.sqrt(np.clip(centred, 0.0, None))
    matches = np.zeros(n, dtype=int)
    wins = np.zeros(n)
    np.add.at(matches, a, 1)
    np.add.at(matches, b, 1)
    np.add.at(wins, a, y)
    np.add.at(wins, b, 1.0 - y)
    return Fit(
        ratings={
            idea: Rating(idea, float(x[i]), float(sd[i]), int(matches[i]), float(wins[i])) for idea, i in index.items()
        },
        position_bias={kind: float(x[n + j]) for j, kind in enumerate(kinds)},
        games=len(games),
    )


def games_from_rows(rows: Iterable[Sequence[object]]) -> list[Game]:
    """(idea_a, idea_b, winner, judge) rows as games; a reviewer's choice weighs HUMAN_WEIGHT."""
    games = []
    for first, second, winner, judge in rows:
        score = {"a": 1.0, "b": 0.0}.get(str(winner), 0.5)
        weight = HUMAN_WEIGHT if judge == "human" else 1.0
        games.append(Game(str(first), str(second), score, str(judge), weight))
    return games


def load_games(db: Database) -> list[Game]:
    """Every pairwise judgement, oldest first."""
    return games_from_rows(JudgementStore(db).outcomes())


def refresh_ratings(db: Database) -> Fit:
    """Fit every judgement and replace the `ratings` table with the result, in one transaction.

    Every judgement counts in the fit, but only an idea that has played in a tournament (judged by a
    model at least once) gets a row: a few choices in compare mode move the ratings of rated ideas
    without lifting the two ideas compared above every unrated one in the queue.
    """
    games = load_games(db)
    fit = fit_bradley_terry(games)
    played = {i for g in games if judge_kind(g.judge) == "model" for i in (g.first, g.second)}
    replace_ratings(
        db, [(r.idea_id, r.rating, r.sigma, r.matches) for r in fit.ratings.values() if r.idea_id in played]
    )
    return fit


def spearman(order: Sequence[str], truth: Sequence[str]) -> float:
    """Spearman's rank correlation between two orders of the same ids (1: identical, -1: reversed)."""
    n = len(truth)
    if n < 2:
        return 1.0
    rank = {idea: i for i, idea in enumerate(truth)}
    d2 = sum((i - rank[idea]) ** 2 for i, idea in enumerate(order))
    return 1.0 - 6.0 * d2 / (n * (n * n - 1))
