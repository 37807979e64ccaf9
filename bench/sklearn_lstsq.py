"""scikit-learn side of bench/lstsq.sh: LinearRegression().fit alone on N x D standard-normal
data (y = X·(1..D) + 0.1·noise), best of ROUNDS; one JSON line. Threads: OMP/OPENBLAS env.
Usage: python sklearn_lstsq.py [N] [D] [ROUNDS]"""
import json, sys, time, os
import numpy as np
from sklearn.linear_model import LinearRegression

n, d, rounds = (list(map(int, sys.argv[1:4])) + [100000, 100, 3][len(sys.argv[1:4]):])
rng = np.random.default_rng(0)
x = rng.standard_normal((n, d))
y = x @ np.arange(1, d + 1, dtype=np.float64) + 0.1 * rng.standard_normal(n)
best, err = float("inf"), 0.0
for _ in range(rounds):
    t0 = time.perf_counter()
    m = LinearRegression().fit(x, y)
    best = min(best, time.perf_counter() - t0)
    err = float(np.abs(m.coef_ - np.arange(1, d + 1)).max())
print(json.dumps({"impl": "sklearn", "n": n, "d": d, "threads": os.environ.get("OMP_NUM_THREADS", "default"),
                  "fit_s": round(best, 4), "max_coef_err": float(f"{err:.3e}")}))
