//! learnable side of the least-squares benchmark in `bench/lstsq.sh`: `LinearRegression` fit
//! alone (closed form, OLS) on `N × D` data held in memory, best of `ROUNDS`. Prints one JSON
//! line. Threads: RAYON_NUM_THREADS. Usage: `bench_lstsq [N] [D] [ROUNDS]` (100000 100 3).

use std::time::Instant;

use learnable::Rng;
use learnable::models::linear_regression::LinearRegressionConfig;

fn main() -> learnable::Result<()> {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("a count"))
        .collect();
    let n = args.first().copied().unwrap_or(100_000);
    let d = args.get(1).copied().unwrap_or(100);
    let rounds = args.get(2).copied().unwrap_or(3);
    let mut rng = Rng::new(0, "bench-lstsq");
    let x: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
    let noise: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| (0..d).map(|j| x[i * d + j] * (j as f64 + 1.0)).sum::<f64>() + 0.1 * noise[i])
        .collect();
    let mut best = f64::INFINITY;
    let mut max_err = 0.0f64;
    for _ in 0..rounds {
        let t0 = Instant::now();
        let model = LinearRegressionConfig::ols().fit(&x, n, d, &y)?;
        best = best.min(t0.elapsed().as_secs_f64());
        max_err = model
            .coef()
            .iter()
            .enumerate()
            .map(|(j, w)| (w - (j as f64 + 1.0)).abs())
            .fold(0.0, f64::max);
    }
    println!(
        "{{\"impl\": \"learnable\", \"n\": {n}, \"d\": {d}, \"threads\": {}, \"fit_s\": {best:.4}, \"max_coef_err\": {max_err:.3e}}}",
        rayon::current_num_threads()
    );
    Ok(())
}
