"""Reference values for shared/src/experiment.ts.

- SciPy's own routines: the sample-ratio-mismatch chi-square (scipy.stats.chisquare), and the
  mSPRT mixture likelihood ratio integrated numerically (scipy.integrate.quad over
  scipy.stats.norm densities), which checks the closed form rather than re-typing it.
- Re-typed formulas (they only catch typing slips): the sample size per arm (with norm.ppf) and the
  mSPRT closed form. Simulations in shared/test/experiment.test.ts check what they claim.

Run: python3 scripts/reference/experiment.py > shared/test-vectors/experiment-reference.json
"""
import json
import math

import numpy as np
from scipy.integrate import quad
from scipy.stats import chisquare, norm

sample_size = []
for baseline, mde, alpha, power in [(0.1, 0.01, 0.05, 0.8), (0.3, -0.05, 0.05, 0.9), (0.02, 0.005, 0.01, 0.8), (0.5, 0.1, 0.1, 0.8)]:
    p1, p2 = baseline, baseline + mde
    pbar = (p1 + p2) / 2
    n = (norm.ppf(1 - alpha / 2) * math.sqrt(2 * pbar * (1 - pbar)) + norm.ppf(power) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / mde**2
    sample_size.append({"baseline": baseline, "mde": mde, "alpha": alpha, "power": power, "n": math.ceil(n)})

srm = []
for observed, weights in [([5000, 5000], [1, 1]), ([5100, 4900], [1, 1]), ([5300, 4700], [1, 1]), ([7000, 2000, 1000], [7, 2, 1]), ([6800, 2150, 1050], [7, 2, 1])]:
    total = sum(observed)
    expected = [total * w / sum(weights) for w in weights]
    r = chisquare(observed, expected)
    srm.append({"observed": observed, "weights": weights, "statistic": float(r.statistic), "p_value": float(r.pvalue)})

msprt = []
for a, b, tau2 in [((100, 1000), (120, 1000), 1e-4), ((500, 10000), (560, 10000), 1e-4), ((50, 400), (48, 410), 4e-4), ((2000, 20000), (2300, 20000), 1e-4)]:
    pa, pb = a[0] / a[1], b[0] / b[1]
    v = pa * (1 - pa) / a[1] + pb * (1 - pb) / b[1]
    theta = pb - pa
    lam = np.sqrt(v / (v + tau2)) * np.exp(theta**2 * tau2 / (2 * v * (v + tau2)))
    # The definition, integrated: the likelihood of the observed effect under theta ~ N(0, tau2),
    # over its likelihood under theta = 0.
    sd = math.sqrt(v)
    ratio = lambda t: norm.pdf(theta, loc=t, scale=sd) / norm.pdf(theta, loc=0, scale=sd) * norm.pdf(t, loc=0, scale=math.sqrt(tau2))
    width = 40 * max(sd, math.sqrt(tau2))
    lam_quad, _ = quad(ratio, theta - width, theta + width, points=[0.0, theta], limit=200, epsabs=0, epsrel=1e-12)
    msprt.append({"a": list(a), "b": list(b), "tau2": tau2, "effect": theta, "p_value": float(min(1.0, 1 / lam)), "scipy_p_value_quad": float(min(1.0, 1 / lam_quad))})

print(json.dumps({"generated_by": "scripts/reference/experiment.py (scipy, numpy)", "sample_size": sample_size, "srm": srm, "msprt": msprt}, indent=1))
