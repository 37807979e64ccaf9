//! The tape: records a training-mode forward pass and walks it backwards.
//!
//! Each operation computes its output with a forward kernel and, in training mode, records a
//! hand-written backward closure. [`Tape::backward`] seeds d loss / d loss = 1 and calls the
//! closures in reverse order; each closure reads saved values through [`BackwardCtx`] and adds
//! its contribution into the gradients of its inputs. Parameter leaves borrow their values from a
//! [`ParamStore`] (no copy) and their gradients are returned as [`Gradients`], which
//! [`ParamStore::accumulate`] adds into the parameters' buffers.
//!
//! In inference mode ([`Tape::eval`]) nothing is recorded: no closures, no gradients.
//! This follows the reverse-mode design of PyTorch's autograd (Paszke et al., 2017), reduced to
//! a flat list of coarse, fused operations.

use crate::error::{Error, Result};
use crate::param::{Gradients, ParamId, ParamStore};
use crate::tensor::Tensor;

/// Handle to a value recorded on a [`Tape`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) usize);

enum Value<'a> {
    Owned(Tensor),
    Borrowed(&'a Tensor),
}

impl Value<'_> {
    fn get(&self) -> &Tensor {
        match self {
            Value::Owned(t) => t,
            Value::Borrowed(t) => t,
        }
    }
}

/// A backward closure: receives d loss / d output and adds into its inputs' gradients.
type BackwardFn = Box<dyn FnOnce(&Tensor, &mut BackwardCtx<'_, '_>)>;

struct Node<'a> {
    value: Value<'a>,
    requires_grad: bool,
    param: Option<ParamId>,
    keep_grad: bool,
}

/// What a backward closure sees: the recorded values and the gradient buffers of the inputs.
pub struct BackwardCtx<'t, 'a> {
    nodes: &'t [Node<'a>],
    grads: &'t mut [Option<Tensor>],
}

impl BackwardCtx<'_, '_> {
    /// The forward value of `v`.
    pub fn value(&self, v: Var) -> &Tensor {
        self.nodes[v.0].value.get()
    }

    /// Whether `v` needs a gradient.
    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes[v.0].requires_grad
    }

    /// The gradient buffer of `v` (zeros on first use) or `None` if `v` needs no gradient.
    /// Closures add into it; they never overwrite it.
    pub fn grad_mut(&mut self, v: Var) -> Option<&mut Tensor> {
        if !self.nodes[v.0].requires_grad {
            return None;
        }
        let shape = self.nodes[v.0].value.get().shape();
        Some(self.grads[v.0].get_or_insert_with(|| Tensor::zeros(shape)))
    }

    /// The value of `a` together with the gradient buffer of `g` (for kernels that need both).
    pub fn value_and_grad(&mut self, a: Var, g: Var) -> Option<(&Tensor, &mut Tensor)> {
        if !self.nodes[g.0].requires_grad {
            return None;
        }
        let nodes = self.nodes;
        let shape = nodes[g.0].value.get().shape();
        let grad = self.grads[g.0].get_or_insert_with(|| Tensor::zeros(shape));
        Some((nodes[a.0].value.get(), grad))
    }
}

/// Records operations for one forward pass. `'a` is the lifetime of borrowed parameters/inputs.
pub struct Tape<'a> {
    nodes: Vec<Node<'a>>,
    backwards: Vec<Option<BackwardFn>>,
    training: bool,
    param_vars: Vec<(ParamId, Var)>,
}

impl<'a> Tape<'a> {
    /// A training-mode tape: records backward closures; dropout is active.
    pub fn train() -> Self {
        Tape {
            nodes: Vec::new(),
            backwards: Vec::new(),
            training: true,
            param_vars: Vec::new(),
        }
    }

    /// An inference-mode tape: records nothing; dropout is the identity.
    pub fn eval() -> Self {
        Tape {
            nodes: Vec::new(),
            backwards: Vec::new(),
            training: false,
            param_vars: Vec::new(),
        }
    }

    /// True in training mode.
    pub fn is_training(&self) -> bool {
        self.training
    }

    fn leaf(
        &mut self,
        value: Value<'a>,
        requires_grad: bool,
        param: Option<ParamId>,
        keep_grad: bool,
    ) -> Var {
        self.nodes.push(Node {
            value,
            requires_grad: requires_grad && self.training,
            param,
            keep_grad,
        });
        self.backwards.push(None);
        Var(self.nodes.len() - 1)
    }

    /// A constant input (no gradient), owned by the tape.
    pub fn input(&mut self, t: Tensor) -> Var {
        self.leaf(Value::Owned(t), false, None, false)
    }

    /// A constant input borrowed for the tape's lifetime (no copy).
    pub fn input_ref(&mut self, t: &'a Tensor) -> Var {
        self.leaf(Value::Borrowed(t), false, None, false)
    }

    /// An input whose gradient [`Tape::backward`] returns (for gradient checks).
    pub fn input_with_grad(&mut self, t: Tensor) -> Var {
        self.leaf(Value::Owned(t), true, None, true)
    }

    /// Parameter `id` of `store`, borrowed (no copy). Using the same parameter twice (tied
    /// weights) gives the same `Var`, so its gradient is the sum of both uses.
    pub fn param(&mut self, store: &'a ParamStore, id: ParamId) -> Var {
        if let Some(&(_, v)) = self.param_vars.iter().find(|(p, _)| *p == id) {
            return v;
        }
        let trainable = store.get(id).trainable;
        let v = self.leaf(Value::Borrowed(store.value(id)), trainable, Some(id), false);
        self.param_vars.push((id, v));
        v
    }

    /// The value of `v`.
    pub fn value(&self, v: Var) -> &Tensor {
        self.nodes[v.0].value.get()
    }

    /// The shape of `v`.
    pub fn shape(&self, v: Var) -> &[usize] {
        self.nodes[v.0].value.get().shape()
    }

    /// Whether `v` needs a gradient (always false in inference mode).
    pub fn requires_grad(&self, v: Var) -> bool {
        self.nodes[v.0].requires_grad
    }

    /// Records an operation's output. In training mode, if any input needs a gradient, the
    /// backward closure is kept; otherwise it is dropped unused. Op implementations call this.
    pub fn push(
        &mut self,
        value: Tensor,
        inputs: &[Var],
        backward: impl FnOnce(&Tensor, &mut BackwardCtx<'_, '_>) + 'static,
    ) -> Var {
        let requires_grad = self.training && inputs.iter().any(|v| self.nodes[v.0].requires_grad);
        self.nodes.push(Node {
            value: Value::Owned(value),
            requires_grad,
            param: None,
            keep_grad: false,
        });
        self.backwards.push(if requires_grad {
            Some(Box::new(backward))
        } else {
            None
        });
        Var(self.nodes.len() - 1)
    }

    /// Like [`Tape::push`], but the backward closure also receives the output's own [`Var`], so
    /// it can read the forward output with `ctx.value(out)` instead of keeping a copy (the
    /// backward passes of softmax, tanh and sigmoid are written in terms of y).
    pub fn push_reading_output(
        &mut self,
        value: Tensor,
        inputs: &[Var],
        backward: impl FnOnce(Var, &Tensor, &mut BackwardCtx<'_, '_>) + 'static,
    ) -> Var {
        let out = Var(self.nodes.len());
        self.push(value, inputs, move |g, ctx| backward(out, g, ctx))
    }

    /// Replaces the value of `v` (used by ops that compute in place on a fresh output).
    pub fn into_value(mut self, v: Var) -> Tensor {
        match std::mem::replace(&mut self.nodes[v.0].value, Value::Owned(Tensor::default())) {
            Value::Owned(t) => t,
            Value::Borrowed(t) => t.clone(),
        }
    }

    /// Reverse-mode pass from a one-element `loss`. Returns d loss / d parameter for every
    /// parameter the loss depends on, and the gradients of inputs made with
    /// [`Tape::input_with_grad`]. Errors if the loss is not a single element or not finite.
    pub fn backward(self, loss: Var) -> Result<Gradients> {
        let Tape {
            nodes,
            mut backwards,
            training,
            ..
        } = self;
        if !training {
            return Err(Error::Other(
                "backward called on an inference-mode (eval) tape".into(),
            ));
        }
        let lv = nodes[loss.0].value.get();
        if lv.numel() != 1 {
            return Err(Error::shape("backward", "a one-element loss", lv.shape()));
        }
        if !lv.data()[0].is_finite() {
            return Err(Error::NonFinite {
                what: "loss",
                step: 0,
                name: "loss".into(),
            });
        }
        let mut grads: Vec<Option<Tensor>> = (0..nodes.len()).map(|_| None).collect();
        grads[loss.0] = Some(Tensor::full(lv.shape(), 1.0));
        let mut out = Gradients::default();
        for i in (0..=loss.0).rev() {
            let Some(g) = grads[i].take() else { continue };
            if let Some(f) = backwards[i].take() {
                let mut ctx = BackwardCtx {
                    nodes: &nodes,
                    grads: &mut grads,
                };
                f(&g, &mut ctx);
            }
            if let Some(id) = nodes[i].param {
                out.grads.push((id, g));
            } else if nodes[i].keep_grad {
                out.inputs.push((Var(i), g));
            }
        }
        out.grads.sort_by_key(|(id, _)| *id);
        Ok(out)
    }
}
