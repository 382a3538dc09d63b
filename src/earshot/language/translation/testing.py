"""A tiny random-weight OPUS-MT-shaped CTranslate2 model, for tests and benchmarks.

It has the files a real ``ct2-transformers-converter --model Helsinki-NLP/opus-mt-ru-en
--copy_files source.spm target.spm`` conversion has (``model.bin``, vocabulary,
``source.spm``, ``target.spm``), so :class:`~.engines.CTranslate2Engine` runs its real
code path on it; the weights are noise, so is the output. Nothing is downloaded: the
SentencePiece models are trained on the sentences given.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ...testing_models import RandomTransformerWeights

__all__ = ["build_tiny_opus_mt"]


def _train_spm(sentences: Iterable[str], path: Path, vocab_size: int) -> list[str]:
    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(list(sentences)),
        model_writer=model,
        vocab_size=vocab_size,
        model_type="unigram",
        character_coverage=1.0,
        hard_vocab_limit=False,
        unk_piece="<unk>",
        bos_id=-1,
        eos_piece="</s>",
        pad_id=2,
        pad_piece="<pad>",
        unk_id=1,
        eos_id=0,
        minloglevel=2,
    )
    path.write_bytes(model.getvalue())
    processor = sentencepiece.SentencePieceProcessor(model_file=str(path))
    return [processor.id_to_piece(i) for i in range(processor.get_piece_size())]


def build_tiny_opus_mt(
    directory: Path,
    source_sentences: Iterable[str],
    target_sentences: Iterable[str],
    *,
    d_model: int = 32,
    heads: int = 2,
    layers: int = 1,
    vocab_size: int = 120,
    seed: int = 0,
) -> Path:
    """Write the model into `directory` (created) and return it."""
    from ctranslate2.specs import TransformerSpec

    directory.mkdir(parents=True, exist_ok=True)
    source_vocab = _train_spm(source_sentences, directory / "source.spm", vocab_size)
    target_vocab = _train_spm(target_sentences, directory / "target.spm", vocab_size)
    fill = RandomTransformerWeights(
        np.random.default_rng(seed), d_model=d_model, ffn=2 * d_model, scale=0.1
    )
    d = d_model

    spec = TransformerSpec.from_config(layers, heads)
    encoder, decoder = spec.encoder, spec.decoder
    encoder.embeddings[0].weight = fill.weights(len(source_vocab), d)
    encoder.scale_embeddings = True
    fill.norm(encoder.layer_norm)
    for layer in encoder.layer:
        fill.encoder_layer(layer)
    decoder.embeddings.weight = fill.weights(len(target_vocab), d)
    fill.norm(decoder.layer_norm)
    for layer in decoder.layer:
        fill.decoder_layer(layer)
    fill.linear(decoder.projection, len(target_vocab), d)
    spec.register_source_vocabulary(source_vocab)
    spec.register_target_vocabulary(target_vocab)
    spec.config.decoder_start_token = "</s>"  # noqa: S105  (a token, as Marian models use)
    spec.validate()
    spec.save(str(directory))
    return directory
