//! Multilayer perceptron: `Linear → activation → [Dropout] → … → Linear`.
//!
//! Layout and names follow a PyTorch `nn.Sequential` of the same modules, so the checkpoint loads
//! into PyTorch as it is: Linear layers sit at indices 0, 2, 4, … (0, 3, 6, … when dropout
//! layers are present), named `layers.{i}.weight` `[out, in]` and `layers.{i}.bias` `[out]`.
//! Initialisation is nn.Linear's default (kaiming-uniform a=√5; bias U(±1/√fan_in)).
//!
//! With no hidden layers the MLP is a single Linear layer: linear regression (with MSE) or
//! logistic/softmax regression (with cross-entropy) trained by gradient descent.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::kernels::fused_linear::{Epilogue, PackedLinear, chain_forward};
use crate::ops::activation::Gelu;
use crate::ops::linear::linear_forward_act;
use crate::param::{ParamId, ParamStore};
use crate::rng::Rng;
use crate::tape::{Tape, Var};
use crate::tensor::Tensor;

/// Nonlinearity between layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x)
    Relu,
    /// GELU, exact erf form (PyTorch `nn.GELU()`).
    Gelu,
    /// tanh(x)
    Tanh,
    /// 1 / (1 + e^−x)
    Sigmoid,
}

impl crate::choice::Choice for Activation {
    const SETTING: &'static str = "activation";
    const ALL: &'static [Self] = &[
        Activation::Relu,
        Activation::Gelu,
        Activation::Tanh,
        Activation::Sigmoid,
    ];
    fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Gelu => "gelu",
            Activation::Tanh => "tanh",
            Activation::Sigmoid => "sigmoid",
        }
    }
    fn description(self) -> &'static str {
        match self {
            Activation::Relu => "max(0, x); the fused inference kernel's epilogue",
            Activation::Gelu => "GELU, exact erf form (PyTorch nn.GELU())",
            Activation::Tanh => "tanh(x)",
            Activation::Sigmoid => "1 / (1 + e^-x)",
        }
    }
}
crate::choice_traits!(Activation);

/// Largest parameter count [`MlpConfig::validate`] accepts: 2^31 (8 GiB of f32 weights).
pub const MAX_PARAMS: usize = 1 << 31;

/// Architecture of an [`Mlp`]; saved as JSON next to the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Number of input features.
    pub input_dim: usize,
    /// Widths of the hidden layers (empty: a single linear layer).
    pub hidden: Vec<usize>,
    /// Number of outputs (classes for classification, targets for regression).
    pub output_dim: usize,
    /// Nonlinearity after each hidden layer. Default relu, the usual first choice.
    pub activation: Activation,
    /// Dropout probability after each hidden activation, in [0, 1). Default 0.
    pub dropout: f32,
}

impl MlpConfig {
    /// Checks every field; errors name the field, its value and the allowed range.
    pub fn validate(&self) -> Result<()> {
        if self.input_dim == 0 {
            return Err(Error::invalid("input_dim", 0, ">= 1"));
        }
        if self.output_dim == 0 {
            return Err(Error::invalid("output_dim", 0, ">= 1"));
        }
        if let Some(w) = self.hidden.iter().find(|&&w| w == 0) {
            return Err(Error::invalid("hidden", w, "every width >= 1"));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::invalid("dropout", self.dropout, "[0, 1)"));
        }
        // Refuse architectures too large to allocate before anything is allocated: the count
        // uses checked arithmetic, so widths near usize::MAX give this error, not an overflow.
        let too_many = |count: String| {
            Error::invalid(
                "hidden",
                format!("{:?} ({count} parameters)", self.hidden),
                &format!("at most {MAX_PARAMS} parameters in all (2^31, 8 GiB of f32)"),
            )
        };
        match self.num_params() {
            Some(n) if n <= MAX_PARAMS => Ok(()),
            Some(n) => Err(too_many(n.to_string())),
            None => Err(too_many("more than usize::MAX".to_string())),
        }
    }

    /// Number of parameters (weights and biases of every Linear layer), or None if it overflows
    /// usize.
    pub fn num_params(&self) -> Option<usize> {
        let mut dims = vec![self.input_dim];
        dims.extend(&self.hidden);
        dims.push(self.output_dim);
        dims.windows(2).try_fold(0usize, |acc, w| {
            let layer = w[1].checked_mul(w[0])?.checked_add(w[1])?;
            acc.checked_add(layer)
        })
    }

    /// Index stride between Linear layers in the equivalent nn.Sequential.
    fn stride(&self) -> usize {
        if self.dropout > 0.0 { 3 } else { 2 }
    }

    /// The (weight name, bias name, [out, in]) of every Linear layer, in order.
    pub fn layer_specs(&self) -> Vec<(String, String, [usize; 2])> {
        let mut dims = vec![self.input_dim];
        dims.extend(&self.hidden);
        dims.push(self.output_dim);
        (0..dims.len() - 1)
            .map(|i| {
                let idx = i * self.stride();
                (
                    format!("layers.{idx}.weight"),
                    format!("layers.{idx}.bias"),
                    [dims[i + 1], dims[i]],
                )
            })
            .collect()
    }
}

/// A multilayer perceptron whose parameters live in a [`ParamStore`].
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The architecture.
    pub config: MlpConfig,
    layers: Vec<(ParamId, ParamId)>,
}

impl Mlp {
    /// Registers freshly initialised parameters (nn.Linear defaults, from `rng`) in `store`.
    pub fn new(config: MlpConfig, store: &mut ParamStore, rng: &mut Rng) -> Result<Self> {
        config.validate()?;
        let mut layers = Vec::new();
        for (wn, bn, [out, inp]) in config.layer_specs() {
            let w = store.add(wn, crate::init::linear_weight(out, inp, rng))?;
            let b = store.add(bn, crate::init::linear_bias(out, inp, rng))?;
            layers.push((w, b));
        }
        Ok(Mlp { config, layers })
    }

    /// Binds to parameters already in `store` (e.g. loaded from a checkpoint), checking names and
    /// shapes.
    pub fn from_store(config: MlpConfig, store: &ParamStore) -> Result<Self> {
        config.validate()?;
        let mut layers = Vec::new();
        for (wn, bn, [out, inp]) in config.layer_specs() {
            let w = store
                .id(&wn)
                .ok_or_else(|| Error::Missing(format!("missing parameter {wn}")))?;
            let b = store
                .id(&bn)
                .ok_or_else(|| Error::Missing(format!("missing parameter {bn}")))?;
            if store.value(w).shape() != [out, inp] {
                return Err(Error::shape(
                    "Mlp::from_store",
                    format!("{wn} [{out}, {inp}]"),
                    store.value(w).shape(),
                ));
            }
            if store.value(b).shape() != [out] {
                return Err(Error::shape(
                    "Mlp::from_store",
                    format!("{bn} [{out}]"),
                    store.value(b).shape(),
                ));
            }
            layers.push((w, b));
        }
        Ok(Mlp { config, layers })
    }

    /// Forward pass. `x`: `[batch, input_dim]` → logits / outputs `[batch, output_dim]`.
    /// `dropout_rng` is used only in training mode with dropout > 0.
    pub fn forward<'a>(
        &self,
        tape: &mut Tape<'a>,
        store: &'a ParamStore,
        x: Var,
        dropout_rng: &mut Rng,
    ) -> Result<Var> {
        let d = tape.shape(x).last().copied().unwrap_or(0);
        if tape.shape(x).len() != 2 || d != self.config.input_dim {
            return Err(Error::shape(
                "Mlp::forward",
                format!("[batch, {}]", self.config.input_dim),
                tape.shape(x),
            ));
        }
        let mut h = x;
        let last = self.layers.len() - 1;
        for (i, &(w, b)) in self.layers.iter().enumerate() {
            let (w, b) = (tape.param(store, w), tape.param(store, b));
            h = tape.linear(h, w, Some(b))?;
            if i < last {
                h = match self.config.activation {
                    Activation::Relu => tape.relu(h)?,
                    Activation::Gelu => tape.gelu(h, Gelu::Exact)?,
                    Activation::Tanh => tape.tanh(h)?,
                    Activation::Sigmoid => tape.sigmoid(h)?,
                };
                if self.config.dropout > 0.0 {
                    h = tape.dropout(h, self.config.dropout, dropout_rng)?;
                }
            }
        }
        Ok(h)
    }

    /// Inference: `x` `[batch, input_dim]` → `[batch, output_dim]`, recording nothing.
    ///
    /// Same as `self.prepare(store).predict(x)`: with ReLU hidden layers the weights are packed
    /// for the fused kernel on every call; to predict many batches with the same weights,
    /// [`Mlp::prepare`] once and reuse it.
    /// Errors: [`Error::Shape`] if `x` is not `[batch, input_dim]`.
    pub fn predict(&self, store: &ParamStore, x: &Tensor) -> Result<Tensor> {
        self.prepare(store).predict(x)
    }

    /// Packs the weights once for inference (see [`PreparedMlp`]). The returned value borrows
    /// `store`, so the weights cannot change while it exists.
    pub fn prepare<'a>(&'a self, store: &'a ParamStore) -> PreparedMlp<'a> {
        PreparedMlp {
            mlp: self,
            store,
            chain: self.pack(store),
        }
    }

    /// The packed layers of the fused kernel with their epilogues, for a ReLU MLP on a CPU the
    /// kernel supports; `None` otherwise (inference then takes the general path). Owned, so a
    /// long-lived predictor ([`crate::inference::Predictor`]) packs once per load.
    pub fn pack(&self, store: &ParamStore) -> Option<PackedLayers> {
        if self.config.activation != Activation::Relu {
            return None;
        }
        self.layers
            .iter()
            .enumerate()
            .map(|(i, &(w, b))| {
                let (wv, bv) = (store.value(w), store.value(b));
                let [out, inp] = [wv.shape()[0], wv.shape()[1]];
                PackedLinear::new(wv.data(), Some(bv.data()), out, inp)
                    .map(|p| (p, self.relu_epilogue(i)))
            })
            .collect::<Option<Vec<_>>>()
            .map(PackedLayers)
    }

    /// Inference with layers packed by [`Mlp::pack`] (or `None`: the general path): `x`
    /// `[batch, input_dim]` -> `[batch, output_dim]`.
    ///
    /// # Errors
    /// [`Error::Shape`] if `x` is not `[batch, input_dim]`.
    pub fn predict_packed(
        &self,
        store: &ParamStore,
        packed: Option<&PackedLayers>,
        x: &Tensor,
    ) -> Result<Tensor> {
        let d = self.config.input_dim;
        if x.shape().len() != 2 || x.shape()[1] != d {
            return Err(Error::shape(
                "Mlp::predict",
                format!("[batch, {d}]"),
                x.shape(),
            ));
        }
        let n = x.shape()[0];
        match packed {
            Some(PackedLayers(chain)) => {
                let out = chain[chain.len() - 1].0.out();
                Tensor::new(chain_forward(chain, x.data(), n), &[n, out])
            }
            None => self.predict_unpacked(store, x),
        }
    }

    /// The fused epilogue of layer `i` of a ReLU MLP: ReLU after hidden layers, none after the
    /// last.
    fn relu_epilogue(&self, i: usize) -> Epilogue {
        if i + 1 < self.layers.len() {
            Epilogue::Relu
        } else {
            Epilogue::Identity
        }
    }

    /// Inference without packing (the caller, [`PreparedMlp::predict`], has checked that `x` is
    /// `[batch, input_dim]`): ReLU layers through [`linear_forward_act`] (gemm, or the fused
    /// kernel for large batches), other activations through the eval-mode tape.
    fn predict_unpacked(&self, store: &ParamStore, x: &Tensor) -> Result<Tensor> {
        if self.config.activation != Activation::Relu {
            let mut tape = Tape::eval();
            let xv = tape.input_ref(x);
            let mut rng = Rng::new(0, "unused");
            let y = self.forward(&mut tape, store, xv, &mut rng)?;
            return Ok(tape.into_value(y));
        }
        let n = x.shape()[0];
        let mut h: Option<Vec<f32>> = None;
        let mut width = self.config.input_dim;
        for (i, &(w, b)) in self.layers.iter().enumerate() {
            let (wv, bv) = (store.value(w), store.value(b));
            let out = wv.shape()[0];
            let input = h.as_deref().unwrap_or(x.data());
            h = Some(linear_forward_act(
                input,
                wv.data(),
                Some(bv.data()),
                n,
                width,
                out,
                self.relu_epilogue(i),
            ));
            width = out;
        }
        Tensor::new(h.unwrap_or_default(), &[n, width])
    }

    /// The parameter ids, (weight, bias) per Linear layer.
    pub fn layers(&self) -> &[(ParamId, ParamId)] {
        &self.layers
    }
}

/// An [`Mlp`] ready for repeated inference: with ReLU hidden layers (on every CPU: the fused
/// kernel has AVX-512, AVX2 and portable paths),
/// every layer's weight is packed once for the fused kernel ([`crate::kernels::fused_linear`]) and a
/// batch runs through all layers block of rows by block of rows ([`chain_forward`]). A row's
/// outputs are then the same bits whatever the batch it comes in (1 row or 10,000) and whatever
/// the thread count. Other activations take the general path (`gemm`, whose
/// results can differ in the last bits between batch sizes). Packing ahead is what inference runtimes do at load time
/// (oneDNN and ONNX Runtime call it weight prepacking); it saves one pass over every weight per
/// call.
pub struct PreparedMlp<'a> {
    mlp: &'a Mlp,
    store: &'a ParamStore,
    chain: Option<PackedLayers>,
}

/// The layers of a ReLU MLP packed for the fused kernel, with their epilogues (see
/// [`Mlp::pack`]).
pub struct PackedLayers(Vec<(PackedLinear, Epilogue)>);

impl PreparedMlp<'_> {
    /// `x` `[batch, input_dim]` → `[batch, output_dim]`; same values as [`Mlp::predict`] up to
    /// f32 summation order. Errors: [`Error::Shape`] if `x` is not `[batch, input_dim]`.
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.mlp.predict_packed(self.store, self.chain.as_ref(), x)
    }
}
