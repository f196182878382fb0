"""Reference values for shared/src/drift.ts.

Two kinds, kept apart so tests can say which they check:
- from SciPy's own routines: Jensen-Shannon (scipy.spatial.distance.jensenshannon), chi-square
  (scipy.stats.chi2_contingency), the Kolmogorov distribution (scipy.stats.kstwobign), PSI as the
  symmetrised relative entropy (scipy.special.rel_entr), and the two-sample KS statistic and its
  exact p-value (scipy.stats.ks_2samp on the samples the histograms stand for);
- the same formulas as shared/src/drift.ts, re-typed in NumPy: PSI, the binned KS statistic and
  the KS p-value with Stephens' lambda correction (these only catch typing slips).

Run: python3 scripts/reference/drift.py > shared/test-vectors/drift-reference.json
"""
import json

import numpy as np
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr
from scipy.stats import chi2_contingency, ks_2samp, kstwobign

EPS = 1e-4
cases = [
    ([100, 200, 300, 400], [110, 190, 310, 390]),
    ([500, 300, 150, 50], [50, 150, 300, 500]),
    ([10, 0, 30, 60], [5, 25, 20, 50]),
    ([1000, 1000, 1000, 1000, 1000], [900, 1100, 1000, 950, 1050]),
    ([3, 7, 0, 12, 8, 5], [4, 6, 2, 10, 9, 4]),
    ([25000, 50000, 25000], [20000, 50000, 30000]),
]

out = []
for ref, cur in cases:
    e = np.maximum(np.array(ref) / sum(ref), EPS)
    a = np.maximum(np.array(cur) / sum(cur), EPS)
    psi = float(np.sum((a - e) * np.log(a / e)))
    js = float(jensenshannon(ref, cur, base=2))
    cols = [(r, c) for r, c in zip(ref, cur) if r + c > 0]
    chi = chi2_contingency(np.array(cols).T, correction=False)
    c1 = np.cumsum(ref) / sum(ref)
    c2 = np.cumsum(cur) / sum(cur)
    d = float(np.max(np.abs(c1 - c2)))
    ne = sum(ref) * sum(cur) / (sum(ref) + sum(cur))
    lam = (np.sqrt(ne) + 0.12 + 0.11 / np.sqrt(ne)) * d
    # Independent of the formula above: PSI is the relative entropy taken both ways.
    psi_scipy = float(np.sum(rel_entr(a, e) + rel_entr(e, a)))
    # The samples the histograms count (bin index as the value), through SciPy's own KS test.
    ks = ks_2samp(np.repeat(np.arange(len(ref)), ref), np.repeat(np.arange(len(cur)), cur), method="exact")
    out.append({
        "reference": ref, "current": cur,
        "psi": psi, "js": js,
        "scipy": {"psi_rel_entr": psi_scipy, "ks_statistic": float(ks.statistic), "ks_p_exact": float(ks.pvalue)},
        "chi2": {"statistic": float(chi.statistic), "dof": int(chi.dof), "p_value": float(chi.pvalue)},
        "ks": {"statistic": d, "p_value": float(kstwobign.sf(lam))},
    })
print(json.dumps({"generated_by": "scripts/reference/drift.py (numpy, scipy)", "epsilon": EPS, "cases": out}, indent=1))
