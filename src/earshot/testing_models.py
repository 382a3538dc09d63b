"""Random weights for generated CTranslate2 Transformer specs, for tests and benchmarks.

The generated Whisper model (:mod:`earshot.speech.testing`) and the generated OPUS-MT model
(:mod:`earshot.language.translation.testing`) are both CTranslate2 Transformers whose layers
have the same layout (pre-norm self-attention, cross-attention, two-linear feed-forward).
Filling them is the same walk over the spec; this module does it once so the two builders
differ only in what really differs: the model's dimensions, the weight scale and the embeddings.

Weights are drawn from the generator given, in a fixed order, so a seed always yields the same
model file.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["RandomTransformerWeights"]


class RandomTransformerWeights:
    """Fills CTranslate2 spec objects with seeded noise of a given scale.

    ``d_model`` and ``ffn`` are the model width and the feed-forward inner width; ``scale`` is
    the standard deviation of the weights (small, so activations stay finite in float32).
    Spec objects are typed ``Any``: CTranslate2's spec classes set their attributes at run time.
    """

    def __init__(self, rng: np.random.Generator, *, d_model: int, ffn: int, scale: float) -> None:
        self._rng = rng
        self.d_model = d_model
        self.ffn = ffn
        self.scale = scale

    def weights(self, *dims: int) -> np.ndarray:
        """A float32 array of shape ``dims`` drawn from N(0, scale²)."""
        return (self._rng.standard_normal(dims, dtype=np.float32) * self.scale).astype(np.float32)

    def linear(self, spec: Any, out_dim: int, in_dim: int, *, bias: bool = True) -> None:
        """Random weight, zero bias (unless ``bias`` is false) on a ``LinearSpec``."""
        spec.weight = self.weights(out_dim, in_dim)
        if bias:
            spec.bias = np.zeros(out_dim, dtype=np.float32)

    def norm(self, spec: Any) -> None:
        """Identity ``LayerNormSpec``: gamma one, beta zero."""
        spec.gamma = np.ones(self.d_model, dtype=np.float32)
        spec.beta = np.zeros(self.d_model, dtype=np.float32)

    def feed_forward(self, spec: Any) -> None:
        """A ``FeedForwardSpec``: its norm and the two linears d → ffn → d."""
        d, f = self.d_model, self.ffn
        self.norm(spec.layer_norm)
        self.linear(spec.linear_0, f, d)
        self.linear(spec.linear_1, d, f)

    def encoder_layer(self, layer: Any) -> None:
        """A Transformer encoder layer: fused-QKV self-attention, then feed-forward."""
        d = self.d_model
        self.norm(layer.self_attention.layer_norm)
        self.linear(layer.self_attention.linear[0], 3 * d, d)
        self.linear(layer.self_attention.linear[1], d, d)
        self.feed_forward(layer.ffn)

    def decoder_layer(self, layer: Any) -> None:
        """A Transformer decoder layer: self-attention, cross-attention (Q, fused KV, out), FFN."""
        d = self.d_model
        self.norm(layer.self_attention.layer_norm)
        self.linear(layer.self_attention.linear[0], 3 * d, d)
        self.linear(layer.self_attention.linear[1], d, d)
        self.norm(layer.attention.layer_norm)
        self.linear(layer.attention.linear[0], d, d)
        self.linear(layer.attention.linear[1], 2 * d, d)
        self.linear(layer.attention.linear[2], d, d)
        self.feed_forward(layer.ffn)
