"""A generated WeSpeaker-layout speaker-embedding model, for tests and benchmarks.

WeSpeaker's, ReDimNet's and CAM++'s ONNX exports take ``feats`` [batch, frames, 80] (Kaldi
fbank, mean-normalised over time) and give ``embs`` [batch, dim]; this writes a tiny graph with
that contract from the same helpers as the generated onnx-asr models.
"""

from __future__ import annotations

from pathlib import Path

from .testing_onnx import _fill, _save, _tensor

__all__ = ["build_tiny_wespeaker"]


def build_tiny_wespeaker(
    directory: Path, *, seed: int = 0, dimension: int = 32, name: str = "wespeaker-tiny.onnx"
) -> Path:
    """A WeSpeaker-layout speaker embedder: ``feats`` [B,T,80] (Kaldi fbank, mean-normalised)
    -> ``embs`` [B,D], as WeSpeaker's, ReDimNet's and CAM++'s ONNX exports are called.  Mean
    and standard deviation pooling of each mel bin, then a random projection: voices with
    different spectra get different vectors, which is all a test can ask of it."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    fill = _fill(seed, scale=0.2)
    projection = fill.weights(160, dimension)
    nodes = [
        helper.make_node("ReduceMean", ["feats"], ["mean"], axes=[1], keepdims=0),
        helper.make_node("Mul", ["feats", "feats"], ["square"]),
        helper.make_node("ReduceMean", ["square"], ["mean_square"], axes=[1], keepdims=0),
        helper.make_node("Mul", ["mean", "mean"], ["mean_2"]),
        helper.make_node("Sub", ["mean_square", "mean_2"], ["variance"]),
        helper.make_node("Relu", ["variance"], ["variance_pos"]),
        helper.make_node("Sqrt", ["variance_pos"], ["std"]),
        helper.make_node("Concat", ["mean", "std"], ["pooled"], axis=1),
        helper.make_node("MatMul", ["pooled", "projection"], ["embs"]),
    ]
    _save(
        helper.make_graph(
            nodes,
            "wespeaker_tiny",
            [helper.make_tensor_value_info("feats", TensorProto.FLOAT, ["batch", "time", 80])],
            [helper.make_tensor_value_info("embs", TensorProto.FLOAT, ["batch", dimension])],
            initializer=[_tensor("projection", projection)],
        ),
        directory / name,
    )
    return directory
