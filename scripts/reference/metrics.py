"""Reference values for trainer/src/evaluate/metrics.ts, computed independently with NumPy and SciPy.

AUC is the Mann-Whitney U of the positives over n1*n0 (SciPy ranks ties by their average);
log loss is the mean binary cross-entropy with probabilities clipped to [eps, 1 - eps];
accuracy counts p >= 0.5 as positive; ECE is over 10 equal-width bins [k/10, (k+1)/10), the last
one closed, weighted by each bin's share of the rows. RMSE and MAE treat the scores as predictions
of the labels.

Run: python3 scripts/reference/metrics.py > shared/test-vectors/metrics.json
"""
import json

import numpy as np
from scipy.stats import mannwhitneyu

EPS = 1e-15
rng = np.random.default_rng(20261118)

cases = [
    # small, hand-made, with ties across classes
    ([0.1, 0.4, 0.35, 0.8, 0.8, 0.2, 0.9, 0.5], [0, 0, 1, 1, 0, 0, 1, 1]),
    # every score tied: AUC one half
    ([0.5] * 6, [1, 0, 1, 0, 0, 1]),
    # perfect separation, with probabilities at 0 and 1 that the clipping must catch
    ([0.0, 0.1, 0.2, 0.8, 0.9, 1.0], [0, 0, 0, 1, 1, 1]),
    # perfectly wrong
    ([0.9, 0.8, 0.3, 0.1], [0, 0, 1, 1]),
]
# larger random vectors, scores rounded to 2 decimals so that many tie
for n in (200, 1000):
    logit = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-1.5 * logit))).astype(int)
    p = np.round(1 / (1 + np.exp(-logit)), 2)
    cases.append((p.tolist(), y.tolist()))

out = []
for scores, labels in cases:
    s = np.array(scores, dtype=float)
    y = np.array(labels)
    pos, neg = s[y == 1], s[y == 0]
    u = mannwhitneyu(pos, neg, alternative="two-sided").statistic
    auc = float(u / (len(pos) * len(neg)))
    p = np.clip(s, EPS, 1 - EPS)
    ll = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    acc = float(np.mean((s >= 0.5) == (y == 1)))
    bins = np.minimum((s * 10).astype(int), 9)
    ece = 0.0
    for b in range(10):
        inside = bins == b
        if inside.any():
            ece += inside.mean() * abs(s[inside].mean() - y[inside].mean())
    rmse = float(np.sqrt(np.mean((s - y) ** 2)))
    mae = float(np.mean(np.abs(s - y)))
    out.append({"scores": scores, "labels": labels, "auc": auc, "log_loss": ll, "accuracy": acc, "ece": float(ece), "rmse": rmse, "mae": mae})
print(json.dumps({"generated_by": "scripts/reference/metrics.py (numpy, scipy)", "epsilon": EPS, "cases": out}, indent=1))
