"""Generated onnx-asr models (GigaAM v3 CTC / RNN-T, T-one, Parakeet TDT) for tests and benchmarks.

No GigaAM, T-one or Parakeet weights can be had on a machine without network, yet the onnx-asr
engine must run end to end.  These builders write tiny random-weight ONNX graphs in *exactly*
the layout onnx-asr 0.12 loads (read from its ``models/*.py``): the file names its resolver
globs for, the input and output names and dtypes its ``InferenceSession.run`` calls use, the
``config.json`` keys it reads and its vocabulary format (``TOKEN ID`` lines, ``▁`` for a space,
``<blk>`` the blank; T-one's vocabulary lives in ``config.json``).  onnx-asr's own
preprocessors, resamplers and greedy decoders then run unchanged; only the text is noise.

One designed weight keeps the output honest about *time*: the blank's logit follows minus the
frame energy, so silence decodes to nothing and speech to tokens, and word times land inside
the speech.  Everything else is seeded noise from :class:`RandomTransformerWeights`, the shared
random-weights helper of the generated Whisper and OPUS-MT models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..testing_models import RandomTransformerWeights

__all__ = [
    "ONNX_BUILDERS",
    "build_tiny_gigaam_v3_ctc",
    "build_tiny_gigaam_v3_rnnt",
    "build_tiny_onnx_asr",
    "build_tiny_parakeet_tdt",
    "build_tiny_t_one",
]

_OPSET = 17
_IR_VERSION = 8
_RU_LETTERS = [chr(ord("а") + i) for i in range(32)]
_GIGAAM_FEATURES = 64
_GIGAAM_PRED_HIDDEN = 320  # fixed in onnx-asr's GigaamV2Rnnt
_SILENCE_LOG_MEL = -6.0  # GigaAM log-mel mean: -13 for -80 dBFS noise, -4 at -40 dBFS, 0.5 at -20
_BLANK_GAIN = 3.0


def _fill(seed: int, scale: float = 0.05) -> RandomTransformerWeights:
    return RandomTransformerWeights(np.random.default_rng(seed), d_model=0, ffn=0, scale=scale)


def _save(graph: Any, path: Path) -> None:
    import onnx
    from onnx import helper

    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="earshot-tiny",
    )
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def _tensor(name: str, array: np.ndarray) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(array, name)


def _write_vocab(path: Path, tokens: list[str]) -> None:
    path.write_text("".join(f"{token} {i}\n" for i, token in enumerate(tokens)), "utf-8")


def _gigaam_vocab() -> list[str]:
    """GigaAM v3's character vocabulary: "▁", а..я, then the blank (34 entries)."""
    return ["\u2581", *_RU_LETTERS, "<blk>"]


def _energy_rows(width: int, channels: int, taps: int, gain: float) -> np.ndarray:
    """Conv weights [width, channels, taps] that average the input: row i = gain * mean."""
    return np.full((width, channels, taps), gain / (channels * taps), dtype=np.float32)


def _subsampling_conv(
    nodes: list[Any],
    inits: list[Any],
    source: str,
    weight: np.ndarray,
    bias: np.ndarray,
    stride: int,
    out: str,
) -> None:
    """Conv1d with kernel = stride and end padding stride-1: ceil(T / stride) frames, as many
    as onnx-asr computes from the feature lengths ((len - 1) // stride + 1)."""
    from onnx import helper

    inits += [_tensor(f"{out}_w", weight), _tensor(f"{out}_b", bias)]
    nodes.append(
        helper.make_node(
            "Conv",
            [source, f"{out}_w", f"{out}_b"],
            [out],
            kernel_shape=[stride],
            strides=[stride],
            pads=[0, stride - 1],
        )
    )


def _length_nodes(
    nodes: list[Any], inits: list[Any], source: str, stride: int, out: str, dtype: int
) -> None:
    """out = cast((source - 1) / stride + 1)."""
    from onnx import helper

    inits += [
        _tensor(f"{out}_one", np.array(1, np.int64)),
        _tensor(f"{out}_stride", np.array(stride, np.int64)),
    ]
    nodes += [
        helper.make_node("Sub", [source, f"{out}_one"], [f"{out}_m1"]),
        helper.make_node("Div", [f"{out}_m1", f"{out}_stride"], [f"{out}_div"]),
        helper.make_node("Add", [f"{out}_div", f"{out}_one"], [f"{out}_i64"]),
        helper.make_node("Cast", [f"{out}_i64"], [out], to=dtype),
    ]


def build_tiny_gigaam_v3_ctc(directory: Path, *, seed: int = 0) -> Path:
    """GigaAM v3 CTC: ``v3_ctc.onnx`` (features [B,64,T] + feature_lengths [B] -> log_probs
    [B,T/4,34]), ``v3_vocab.txt`` and ``config.json`` (version v3, 4x subsampling)."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    vocab = _gigaam_vocab()
    blank, space, stride = len(vocab) - 1, 0, 4
    fill = _fill(seed, scale=0.02)
    weight = fill.weights(len(vocab), _GIGAAM_FEATURES, stride)
    bias = np.zeros(len(vocab), np.float32)
    weight[blank] = _energy_rows(1, _GIGAAM_FEATURES, stride, -_BLANK_GAIN)[0]
    bias[blank] = _BLANK_GAIN * _SILENCE_LOG_MEL
    bias[space] = 0.5
    nodes: list[Any] = []
    inits: list[Any] = []
    _subsampling_conv(nodes, inits, "features", weight, bias, stride, "logits")
    nodes += [
        helper.make_node("Transpose", ["logits"], ["logits_t"], perm=[0, 2, 1]),
        helper.make_node("LogSoftmax", ["logits_t"], ["log_probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "gigaam_v3_ctc_tiny",
        [
            helper.make_tensor_value_info(
                "features", TensorProto.FLOAT, ["batch", _GIGAAM_FEATURES, "time"]
            ),
            helper.make_tensor_value_info("feature_lengths", TensorProto.INT64, ["batch"]),
        ],
        [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, ["batch", "frames", 34])],
        initializer=inits,
    )
    _save(graph, directory / "v3_ctc.onnx")
    _write_vocab(directory / "v3_vocab.txt", vocab)
    _write_config(directory, {"model_type": "gigaam", "version": "v3"})
    return directory


def _write_config(directory: Path, config: dict[str, object]) -> None:
    (directory / "config.json").write_text(json.dumps(config, ensure_ascii=False), "utf-8")


def build_tiny_gigaam_v3_rnnt(directory: Path, *, seed: int = 0, width: int = 16) -> Path:
    """GigaAM v3 RNN-T: ``v3_rnnt_encoder.onnx`` (audio_signal, length -> encoded [B,D,T/4],
    encoded_len int32), ``v3_rnnt_decoder.onnx`` (x, h.1, c.1 -> dec, h, c; 320 hidden),
    ``v3_rnnt_joint.onnx`` (enc, dec -> joint), ``v3_vocab.txt``, ``config.json``."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    vocab = _gigaam_vocab()
    blank, stride, hidden = len(vocab) - 1, 4, _GIGAAM_PRED_HIDDEN
    fill = _fill(seed, scale=0.02)

    # Encoder: channel 0 carries "silence" (minus the mean log-mel), the rest noise.
    weight = fill.weights(width, _GIGAAM_FEATURES, stride)
    bias = np.zeros(width, np.float32)
    weight[0] = _energy_rows(1, _GIGAAM_FEATURES, stride, -_BLANK_GAIN)[0]
    bias[0] = _BLANK_GAIN * _SILENCE_LOG_MEL
    nodes: list[Any] = []
    inits: list[Any] = []
    _subsampling_conv(nodes, inits, "audio_signal", weight, bias, stride, "encoded")
    _length_nodes(nodes, inits, "length", stride, "encoded_len", TensorProto.INT32)
    _save(
        helper.make_graph(
            nodes,
            "gigaam_v3_rnnt_encoder_tiny",
            [
                helper.make_tensor_value_info(
                    "audio_signal", TensorProto.FLOAT, ["batch", _GIGAAM_FEATURES, "time"]
                ),
                helper.make_tensor_value_info("length", TensorProto.INT64, ["batch"]),
            ],
            [
                helper.make_tensor_value_info(
                    "encoded", TensorProto.FLOAT, ["batch", width, "frames"]
                ),
                helper.make_tensor_value_info("encoded_len", TensorProto.INT32, ["batch"]),
            ],
            initializer=inits,
        ),
        directory / "v3_rnnt_encoder.onnx",
    )

    # Prediction network: embedding of the previous token, mixed into the state.
    embedding = fill.weights(len(vocab), hidden)
    decoder_nodes = [
        helper.make_node("Gather", ["embedding", "x"], ["dec"], axis=0),
        helper.make_node("Add", ["dec", "h.1"], ["h_sum"]),
        helper.make_node("Tanh", ["h_sum"], ["h"]),
        helper.make_node("Identity", ["c.1"], ["c"]),
    ]
    state: list[Any] = ["one", 1, hidden]
    _save(
        helper.make_graph(
            decoder_nodes,
            "gigaam_v3_rnnt_decoder_tiny",
            [
                helper.make_tensor_value_info("x", TensorProto.INT64, [1, 1]),
                helper.make_tensor_value_info("h.1", TensorProto.FLOAT, state),
                helper.make_tensor_value_info("c.1", TensorProto.FLOAT, state),
            ],
            [
                helper.make_tensor_value_info("dec", TensorProto.FLOAT, [1, 1, hidden]),
                helper.make_tensor_value_info("h", TensorProto.FLOAT, state),
                helper.make_tensor_value_info("c", TensorProto.FLOAT, state),
            ],
            initializer=[_tensor("embedding", embedding)],
        ),
        directory / "v3_rnnt_decoder.onnx",
    )

    # Joint: enc [1,D,1] and dec [1,320,1] -> logits [1,1,1,V]; the blank follows channel 0.
    enc_weight = fill.weights(width, len(vocab))
    enc_weight[0] = 0.0
    enc_weight[0, blank] = 1.0
    dec_weight = fill.weights(hidden, len(vocab)) * 0.1
    joint_nodes = [
        helper.make_node("Transpose", ["enc"], ["enc_t"], perm=[0, 2, 1]),
        helper.make_node("Transpose", ["dec"], ["dec_t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["enc_t", "enc_w"], ["enc_logits"]),
        helper.make_node("MatMul", ["dec_t", "dec_w"], ["dec_logits"]),
        helper.make_node("Add", ["enc_logits", "dec_logits"], ["sum"]),
        helper.make_node("Unsqueeze", ["sum", "axis1"], ["joint"]),
    ]
    _save(
        helper.make_graph(
            joint_nodes,
            "gigaam_v3_rnnt_joint_tiny",
            [
                helper.make_tensor_value_info("enc", TensorProto.FLOAT, [1, width, 1]),
                helper.make_tensor_value_info("dec", TensorProto.FLOAT, [1, hidden, 1]),
            ],
            [helper.make_tensor_value_info("joint", TensorProto.FLOAT, [1, 1, 1, len(vocab)])],
            initializer=[
                _tensor("enc_w", enc_weight),
                _tensor("dec_w", dec_weight.astype(np.float32)),
                _tensor("axis1", np.array([1], np.int64)),
            ],
        ),
        directory / "v3_rnnt_joint.onnx",
    )
    _write_vocab(directory / "v3_vocab.txt", vocab)
    _write_config(directory, {"model_type": "gigaam", "version": "v3", "max_tokens_per_step": 3})
    return directory


def build_tiny_t_one(directory: Path, *, seed: int = 0, state_size: int = 8) -> Path:
    """T-one (streaming CTC, 8 kHz): ``model.onnx`` taking 300 ms int32 chunks ``signal``
    [B,2400,1] and a float16 ``state`` [B,S], giving ``logprobs`` [B,10,V+1] (30 ms frames)
    and ``state_next``; ``config.json`` holds the vocabulary, pad (blank) id and reduction."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    vocabulary = [" ", *_RU_LETTERS, "ё"]
    classes = len(vocabulary) + 1
    blank = len(vocabulary)
    frames, frame = 10, 240
    fill = _fill(seed, scale=0.02)
    weight = fill.weights(frame, classes)
    weight[:, blank] = 0.0
    bias = np.zeros(classes, np.float32)
    bias[0] = 0.5
    nodes = [
        helper.make_node("Cast", ["signal"], ["signal_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["signal_f", "int_scale"], ["signal_n"]),
        helper.make_node("Reshape", ["signal_n", "frame_shape"], ["framed"]),
        helper.make_node("MatMul", ["framed", "weight"], ["noise"]),
        # Frame energy: log(mean |x| + 1e-4); silence ~ -9, telephone speech ~ -3.
        helper.make_node("Abs", ["framed"], ["magnitude"]),
        helper.make_node("ReduceMean", ["magnitude"], ["level"], axes=[-1], keepdims=1),
        helper.make_node("Add", ["level", "floor"], ["level_f"]),
        helper.make_node("Log", ["level_f"], ["log_level"]),
        helper.make_node("Sub", ["silence_level", "log_level"], ["silence"]),
        helper.make_node("Mul", ["silence", "blank_row"], ["blank_logit"]),
        helper.make_node("Add", ["noise", "blank_logit"], ["with_blank"]),
        helper.make_node("Add", ["with_blank", "bias"], ["logits"]),
        helper.make_node("LogSoftmax", ["logits"], ["logprobs"], axis=-1),
        helper.make_node("Identity", ["state"], ["state_next"]),
    ]
    blank_row = np.zeros(classes, np.float32)
    blank_row[blank] = 2.0
    inits = [
        _tensor("int_scale", np.array(1.0 / 32767.0, np.float32)),
        _tensor("frame_shape", np.array([-1, frames, frame], np.int64)),
        _tensor("weight", weight * 50.0),
        _tensor("floor", np.array(1e-4, np.float32)),
        _tensor("silence_level", np.array(-5.5, np.float32)),
        _tensor("blank_row", blank_row),
        _tensor("bias", bias),
    ]
    _save(
        helper.make_graph(
            nodes,
            "t_one_tiny",
            [
                helper.make_tensor_value_info("signal", TensorProto.INT32, ["batch", 2400, 1]),
                helper.make_tensor_value_info("state", TensorProto.FLOAT16, ["batch", state_size]),
            ],
            [
                helper.make_tensor_value_info(
                    "logprobs", TensorProto.FLOAT, ["batch", frames, classes]
                ),
                helper.make_tensor_value_info(
                    "state_next", TensorProto.FLOAT16, ["batch", state_size]
                ),
            ],
            initializer=inits,
        ),
        directory / "model.onnx",
    )
    _write_config(
        directory,
        {
            "model_type": "t-one-ctc",
            "pad_token_id": blank,
            "decoder_params": {"vocabulary": vocabulary},
            "encoder_params": {"reduction_kernel_size": 3},
        },
    )
    return directory


def _parakeet_vocab() -> list[str]:
    """A SentencePiece-style vocabulary: word-initial pieces (``▁x``), inner pieces, blank."""
    return ["<unk>", *(f"\u2581{c}" for c in _RU_LETTERS[:16]), *_RU_LETTERS, "<blk>"]


def build_tiny_parakeet_tdt(
    directory: Path, *, seed: int = 0, width: int = 16, features: int = 128
) -> Path:
    """Parakeet TDT 0.6b v3 layout: ``encoder-model.onnx`` (audio_signal [B,128,T], length ->
    outputs [B,D,T/8], encoded_lengths int64), ``decoder_joint-model.onnx`` (encoder_outputs,
    targets, target_length, input_states_1/2 -> outputs [V + 5 durations], output_states_1/2),
    ``vocab.txt`` and ``config.json`` (nemo-conformer-tdt, 128 mel features, 8x subsampling)."""
    from onnx import TensorProto, helper

    directory.mkdir(parents=True, exist_ok=True)
    vocab = _parakeet_vocab()
    blank, stride, durations, hidden = len(vocab) - 1, 8, 5, 8
    fill = _fill(seed)

    weight = fill.weights(width, features, stride)
    bias = np.zeros(width, np.float32)
    # NeMo features are normalised per utterance: speech above 0, silence below.
    weight[0] = _energy_rows(1, features, stride, -4.0)[0]
    nodes: list[Any] = []
    inits: list[Any] = []
    _subsampling_conv(nodes, inits, "audio_signal", weight, bias, stride, "outputs")
    _length_nodes(nodes, inits, "length", stride, "encoded_lengths", TensorProto.INT64)
    _save(
        helper.make_graph(
            nodes,
            "parakeet_tdt_encoder_tiny",
            [
                helper.make_tensor_value_info(
                    "audio_signal", TensorProto.FLOAT, ["batch", features, "time"]
                ),
                helper.make_tensor_value_info("length", TensorProto.INT64, ["batch"]),
            ],
            [
                helper.make_tensor_value_info(
                    "outputs", TensorProto.FLOAT, ["batch", width, "frames"]
                ),
                helper.make_tensor_value_info("encoded_lengths", TensorProto.INT64, ["batch"]),
            ],
            initializer=inits,
        ),
        directory / "encoder-model.onnx",
    )

    classes = len(vocab) + durations
    enc_weight = fill.weights(width, classes)
    enc_weight[0] = 0.0
    enc_weight[0, blank] = 1.0
    embedding = fill.weights(len(vocab), classes)
    duration_bias = np.zeros(classes, np.float32)
    duration_bias[len(vocab) + 1] = 2.0  # mostly advance one frame, as trained TDTs do
    duration_bias[0] = -30.0  # never <unk>
    state: list[Any] = [1, "batch", hidden]
    joint_nodes = [
        helper.make_node("Transpose", ["encoder_outputs"], ["enc_t"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["enc_t", "enc_w"], ["enc_logits"]),
        helper.make_node("Cast", ["targets"], ["targets64"], to=TensorProto.INT64),
        helper.make_node("Gather", ["embedding", "targets64"], ["pred_logits"], axis=0),
        helper.make_node("Add", ["enc_logits", "pred_logits"], ["sum"]),
        helper.make_node("Add", ["sum", "duration_bias"], ["sum_b"]),
        helper.make_node("Unsqueeze", ["sum_b", "axis1"], ["outputs"]),
        helper.make_node("Identity", ["input_states_1"], ["output_states_1"]),
        helper.make_node("Identity", ["input_states_2"], ["output_states_2"]),
        helper.make_node("Identity", ["target_length"], ["prednet_lengths"]),
    ]
    _save(
        helper.make_graph(
            joint_nodes,
            "parakeet_tdt_decoder_joint_tiny",
            [
                helper.make_tensor_value_info("encoder_outputs", TensorProto.FLOAT, [1, width, 1]),
                helper.make_tensor_value_info("targets", TensorProto.INT32, [1, 1]),
                helper.make_tensor_value_info("target_length", TensorProto.INT32, [1]),
                helper.make_tensor_value_info("input_states_1", TensorProto.FLOAT, state),
                helper.make_tensor_value_info("input_states_2", TensorProto.FLOAT, state),
            ],
            [
                helper.make_tensor_value_info("outputs", TensorProto.FLOAT, [1, 1, 1, classes]),
                helper.make_tensor_value_info("prednet_lengths", TensorProto.INT32, [1]),
                helper.make_tensor_value_info("output_states_1", TensorProto.FLOAT, state),
                helper.make_tensor_value_info("output_states_2", TensorProto.FLOAT, state),
            ],
            initializer=[
                _tensor("enc_w", enc_weight),
                _tensor("embedding", embedding),
                _tensor("duration_bias", duration_bias),
                _tensor("axis1", np.array([1], np.int64)),
            ],
        ),
        directory / "decoder_joint-model.onnx",
    )
    _write_vocab(directory / "vocab.txt", vocab)
    _write_config(
        directory,
        {
            "model_type": "nemo-conformer-tdt",
            "features_size": features,
            "subsampling_factor": stride,
            "max_tokens_per_step": 10,
        },
    )
    return directory


ONNX_BUILDERS = {
    "gigaam-v3-ctc": build_tiny_gigaam_v3_ctc,
    "gigaam-v3-rnnt": build_tiny_gigaam_v3_rnnt,
    "t-one": build_tiny_t_one,
    "parakeet-tdt-0.6b-v3": build_tiny_parakeet_tdt,
}


def build_tiny_onnx_asr(name: str, directory: Path, *, seed: int = 0) -> Path:
    """The tiny model of catalogue model ``name`` written into ``directory``."""
    if name not in ONNX_BUILDERS:
        raise KeyError(f"no tiny builder for {name!r}; known: {', '.join(sorted(ONNX_BUILDERS))}")
    return ONNX_BUILDERS[name](directory, seed=seed)
