use learnable::matmul::{Mat, gemm};
use std::time::Instant;
fn main() {
    let (m, k, n) = (128usize, 784usize, 256usize);
    let a = vec![0.5f32; m * k];
    let w = vec![0.25f32; n * k];
    let mut c = vec![0.0f32; m * n];
    for (name, trans) in [
        ("x·Wᵀ (rhs col-major)", true),
        ("x·B (rhs row-major)", false),
    ] {
        let b = if trans {
            Mat::t(&w, n, k)
        } else {
            Mat::new(&w, k, n)
        };
        for _ in 0..50 {
            gemm(&mut c, Mat::new(&a, m, k), b, false);
        }
        let t = Instant::now();
        let it = 500;
        for _ in 0..it {
            gemm(&mut c, Mat::new(&a, m, k), b, false);
        }
        let s = t.elapsed().as_secs_f64() / it as f64;
        println!(
            "{name}: {:.1} us, {:.1} GFLOP/s",
            s * 1e6,
            2.0 * (m * n * k) as f64 / s / 1e9
        );
    }
    let mut g = vec![0.0f32; n * k];
    let gy = vec![0.1f32; m * n];
    let t = Instant::now();
    for _ in 0..500 {
        gemm(&mut g, Mat::t(&gy, m, n), Mat::new(&a, m, k), true);
    }
    let s = t.elapsed().as_secs_f64() / 500.0;
    println!(
        "dW = gyᵀ·x: {:.1} us, {:.1} GFLOP/s",
        s * 1e6,
        2.0 * (m * n * k) as f64 / s / 1e9
    );
}
