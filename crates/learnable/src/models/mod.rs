//! Models: linear and logistic regression, softmax regression, MLP.

pub mod lbfgs;
pub mod linear_regression;
pub mod logistic_regression;
pub mod mlp;
