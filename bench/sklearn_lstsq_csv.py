"""scikit-learn side of bench/lstsq.sh, whole process: read the CSV with pandas, hold out 20%
(train_test_split, random_state=0), LinearRegression().fit, R² on the held-out rows.
Usage: python sklearn_lstsq_csv.py FILE.csv TARGET"""
import sys
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import train_test_split

df = pd.read_csv(sys.argv[1])
y = df.pop(sys.argv[2]).to_numpy()
x = df.to_numpy()
xt, xv, yt, yv = train_test_split(x, y, test_size=0.2, random_state=0)
m = LinearRegression().fit(xt, yt)
print(f"sklearn test R2 {m.score(xv, yv):.6f}")
