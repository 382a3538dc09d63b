"""Sidecar transcripts: real VTT/SRT/JSON/TXT files written to disk and parsed back."""

from __future__ import annotations

import json
import random
import tempfile
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from earshot.errors import SidecarError
from earshot.ingest.sidecars import (
    SIDECAR_SUFFIXES,
    SidecarSegment,
    SidecarWord,
    decode_text,
    parse_sidecar,
    party_for_label,
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def speakers_and_texts(path: Path) -> list[tuple[str | None, str]]:
    return [(s.speaker, s.text) for s in parse_sidecar(path).segments]


# --------------------------------------------------------------------------- WebVTT

VOICED_VTT = """WEBVTT
Kind: captions
Language: ru

NOTE Перевод: рабочая группа «Север», не для публикации

STYLE
::cue(v[voice="A"]) { color: yellow }

intro-1
00:00:00.500 --> 00:00:02.250 align:start position:10%
<v A>Алло, мам, это я.

00:00:02.250 --> 00:00:05.000
<v Андрей Петров>Привет, сынок! Ты где?

cue-3
00:01:05.000 --> 00:01:07.125
<v.loud B>Не слышу, <i>повтори</i>!
"""


def test_vtt_voice_tags_give_the_speaker_as_written(tmp_path: Path) -> None:
    transcript = parse_sidecar(write(tmp_path, "call-001.vtt", VOICED_VTT))
    assert transcript.format == "vtt"
    assert transcript.language == "ru"
    assert transcript.segments == (
        SidecarSegment(0.5, 2.25, "Алло, мам, это я.", "A"),
        SidecarSegment(2.25, 5.0, "Привет, сынок! Ты где?", "Андрей Петров"),
        SidecarSegment(65.0, 67.125, "Не слышу, повтори!", "B"),
    )


def test_vtt_note_style_and_cue_ids_are_not_transcript_text(tmp_path: Path) -> None:
    texts = " ".join(s.text for s in parse_sidecar(write(tmp_path, "x.vtt", VOICED_VTT)).segments)
    for not_speech in ("Перевод", "::cue", "color", "intro-1", "cue-3", "align", "Kind"):
        assert not_speech not in texts


def test_vtt_styling_tags_are_removed_but_literal_script_tags_kept(tmp_path: Path) -> None:
    vtt = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n"
        "<v B><b>Слушай</b>, <c.yellow.bg_blue>там</c> <00:00:02.500>"
        "<ruby>БТР<rt>бронетранспортёр</rt></ruby> <u>стоит</u> "
        "<script>alert('x')</script> &lt;b&gt; &amp; <lang en>ok</lang>\n"
    )
    (segment,) = parse_sidecar(write(tmp_path, "styled.vtt", vtt)).segments
    assert segment.speaker == "B"
    assert segment.text == (
        "Слушай, там БТРбронетранспортёр стоит <script>alert('x')</script> <b> & ok"
    )


def test_vtt_cue_with_two_voices_becomes_two_segments(tmp_path: Path) -> None:
    vtt = "WEBVTT\n\n00:00:10.000 --> 00:00:12.000\n<v A>Ну что?</v>\n<v B>Всё нормально.\n"
    segments = parse_sidecar(write(tmp_path, "two.vtt", vtt)).segments
    assert [(s.start, s.end, s.speaker, s.text) for s in segments] == [
        (10.0, 12.0, "A", "Ну что?"),
        (10.0, 12.0, "B", "Всё нормально."),
    ]


def test_vtt_without_voices_reads_label_prefixes(tmp_path: Path) -> None:
    vtt = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nA: Приём.\n\n"
        "2\n00:00:02.000 --> 00:00:03.000\nдалее\n"
    )
    assert speakers_and_texts(write(tmp_path, "lbl.vtt", vtt)) == [("A", "Приём."), (None, "далее")]


def test_vtt_crlf_line_endings_and_hours(tmp_path: Path) -> None:
    vtt = "WEBVTT\r\n\r\n01:02:03.004 --> 01:02:05.000\r\n<v A>долго\r\n"
    (segment,) = parse_sidecar(write(tmp_path, "crlf.vtt", vtt)).segments
    assert segment.start == pytest.approx(3723.004)
    assert segment.end == pytest.approx(3725.0)


# --------------------------------------------------------------------------- SRT

SRT_WITH_LABELS = """1
00:00:01,000 --> 00:00:03,500
A: Мам, связь плохая.

2
00:00:03,500 --> 00:00:06,000
<i>B: Слышу тебя.</i>
Говори громче.

3
00:00:06,000 --> 00:00:08,000
{\\an8}A: Хорошо.
B: Ну всё, давай.
"""


def test_srt_with_label_prefixes(tmp_path: Path) -> None:
    transcript = parse_sidecar(write(tmp_path, "call-002.srt", SRT_WITH_LABELS))
    assert transcript.format == "srt"
    assert transcript.language is None
    assert [(s.start, s.end, s.speaker, s.text) for s in transcript.segments] == [
        (1.0, 3.5, "A", "Мам, связь плохая."),
        (3.5, 6.0, "B", "Слышу тебя. Говори громче."),
        (6.0, 8.0, "A", "Хорошо."),
        (6.0, 8.0, "B", "Ну всё, давай."),
    ]


def test_srt_without_prefixes_has_no_speaker(tmp_path: Path) -> None:
    srt_text = (
        "1\n00:00:00,000 --> 00:00:02,000\nВ 10:30 выдвигаемся.\n\n"
        "2\n00:00:02,000 --> 00:00:04,000\n<b>Понял</b> <script>x</script>\n"
    )
    assert speakers_and_texts(write(tmp_path, "plain.srt", srt_text)) == [
        (None, "В 10:30 выдвигаемся."),
        (None, "Понял <script>x</script>"),
    ]


# --------------------------------------------------------------------------- JSON

VALID_JSON = {
    "language": "ru",
    "text": "whisper's whole-text field is ignored",
    "segments": [
        {
            "id": 0,
            "start": 0.0,
            "end": 2.5,
            "speaker": "A",
            "text": " Алло, ты меня слышишь?",
            "avg_logprob": -0.2,
            "words": [
                {"start": 0.0, "end": 0.4, "word": " Алло,", "probability": 0.91},
                {"start": 0.5, "end": 2.5, "word": " слышишь?", "probability": None},
            ],
        },
        {"start": 2.5, "end": 4.0, "text": "Да.", "speaker": None},
    ],
}


def test_json_valid_with_words_and_extra_whisper_keys(tmp_path: Path) -> None:
    transcript = parse_sidecar(write(tmp_path, "call-003.json", json.dumps(VALID_JSON)))
    assert transcript.format == "json"
    assert transcript.language == "ru"
    first, second = transcript.segments
    assert first.text == "Алло, ты меня слышишь?"
    assert first.speaker == "A"
    assert first.words == (
        SidecarWord(0.0, 0.4, "Алло,", 0.91),
        SidecarWord(0.5, 2.5, "слышишь?", None),
    )
    assert second == SidecarSegment(2.5, 4.0, "Да.", None)


@pytest.mark.parametrize(
    ("change", "json_path"),
    [
        (lambda d: d["segments"][1].update(start=-1), r"\$\.segments\[1\]\.start"),
        (lambda d: d["segments"][0].pop("text"), r"\$\.segments\[0\]"),
        (
            lambda d: d["segments"][0]["words"][1].update(probability=1.5),
            r"\$\.segments\[0\]\.words\[1\]\.probability",
        ),
        (lambda d: d.update(language="русский"), r"\$\.language"),
        (lambda d: d.update(segments=[]), r"\$\.segments"),
        (lambda d: d["segments"][1].update(text=["не", "строка"]), r"\$\.segments\[1\]\.text"),
    ],
)
def test_json_schema_violation_names_the_json_path(
    tmp_path: Path, change: object, json_path: str
) -> None:
    document = json.loads(json.dumps(VALID_JSON))
    change(document)  # type: ignore[operator]
    path = write(tmp_path, "bad-schema.json", json.dumps(document))
    with pytest.raises(SidecarError, match=rf"bad-schema\.json: .*\(at {json_path}.*\) — "):
        parse_sidecar(path)


def test_json_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.json", '{\n  "segments": [\n    {"start": 1,,}\n  ]\n}')
    with pytest.raises(SidecarError, match=r"broken\.json: not valid JSON.*\(line 3\)"):
        parse_sidecar(path)


def test_json_nan_and_reversed_word_times_rejected(tmp_path: Path) -> None:
    nan = write(tmp_path, "nan.json", '{"segments": [{"start": NaN, "end": 1, "text": "x"}]}')
    with pytest.raises(SidecarError, match=r"nan\.json: .*NaN"):
        parse_sidecar(nan)
    document = json.loads(json.dumps(VALID_JSON))
    document["segments"][0]["words"][0].update(start=0.4, end=0.1)
    words = write(tmp_path, "words.json", json.dumps(document))
    with pytest.raises(SidecarError, match=r"words\.json: ends .*segments\[0\]\.words\[0\]"):
        parse_sidecar(words)


# --------------------------------------------------------------------------- TXT


def test_txt_one_untimed_segment_per_line_with_optional_labels(tmp_path: Path) -> None:
    text = (
        "A: Привет, это Серёжа.\n\n"
        "callee: Здравствуй.\n"
        "Ольга Сидоренко: Как вы там?\n"
        "[SPEAKER_01]: ладно\n"
        "Ольга Сидоренко: Держитесь.\n"
        "без метки\n"
        "[SPEAKER_01]: давай\n"
        "10:30 у магазина\n"
    )
    transcript = parse_sidecar(write(tmp_path, "call-004.txt", text))
    assert transcript.format == "txt"
    assert all(s.start is None and s.end is None for s in transcript.segments)
    assert [(s.speaker, s.text) for s in transcript.segments] == [
        ("A", "Привет, это Серёжа."),
        ("callee", "Здравствуй."),
        ("Ольга Сидоренко", "Как вы там?"),
        ("SPEAKER_01", "ладно"),
        ("Ольга Сидоренко", "Держитесь."),
        (None, "без метки"),
        ("SPEAKER_01", "давай"),
        (None, "10:30 у магазина"),
    ]


def test_a_one_off_colon_phrase_is_speech_not_a_speaker(tmp_path: Path) -> None:
    srt_text = (
        "1\n00:00:00,000 --> 00:00:02,000\nМам, это я, с другого номера.\n\n"
        "2\n00:00:02,000 --> 00:00:04,000\nЗапиши новый: 8-977-555-40-82.\n"
    )
    assert speakers_and_texts(write(tmp_path, "oneoff.srt", srt_text)) == [
        (None, "Мам, это я, с другого номера."),
        (None, "Запиши новый: 8-977-555-40-82."),
    ]
    txt = write(tmp_path, "oneoff.txt", "Внимание: мины у моста.\nВнимание: повторяю.\nA: понял\n")
    assert speakers_and_texts(txt)[-1] == ("A", "понял")


def test_text_normalized_controls_and_bidi_stripped_whitespace_collapsed(tmp_path: Path) -> None:
    decomposed = unicodedata.normalize("NFD", "йод ёж")
    line = f"B:\t{decomposed}\x07 \u202eevil\u202c   двойной\u00a0пробел\u200b!\n"
    (segment,) = parse_sidecar(write(tmp_path, "ctl.txt", line)).segments
    assert segment.text == "йод ёж evil двойной пробел!"
    assert unicodedata.is_normalized("NFC", segment.text)


# --------------------------------------------------------------------------- encodings


def test_cp1251_file_is_read_as_russian(tmp_path: Path) -> None:
    text = "A: Привет, мама! Всё хорошо, не волнуйся.\nB: Береги себя, сынок.\n"
    path = write(tmp_path, "legacy.txt", text.encode("cp1251"))
    assert speakers_and_texts(path) == [
        ("A", "Привет, мама! Всё хорошо, не волнуйся."),
        ("B", "Береги себя, сынок."),
    ]


def test_utf8_bom_and_utf16_bom_are_read(tmp_path: Path) -> None:
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v A>Приём\n"
    bom8 = write(tmp_path, "bom.vtt", "\ufeff".encode() + vtt.encode())
    bom16 = write(tmp_path, "bom16.vtt", vtt.encode("utf-16"))
    assert speakers_and_texts(bom8) == speakers_and_texts(bom16) == [("A", "Приём")]


def test_decode_text_rejects_random_bytes_as_cp1251() -> None:
    rng = random.Random(7)
    junk = bytes(rng.randrange(0x80, 0x100) for _ in range(2000)).replace(b"\x98", b"\x99")
    with pytest.raises(ValueError, match="not UTF-8"):
        decode_text(junk)


def test_script_tags_survive_every_format(tmp_path: Path) -> None:
    payload = "<script>alert(1)</script>"
    files = {
        "s.vtt": f"WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n<v A>{payload}\n",
        "s.srt": f"1\n00:00:00,000 --> 00:00:01,000\nA: {payload}\n",
        "s.json": json.dumps({"segments": [{"start": 0, "end": 1, "text": payload}]}),
        "s.txt": f"A: {payload}\n",
    }
    for name, content in files.items():
        (segment,) = parse_sidecar(write(tmp_path, name, content)).segments
        assert segment.text == payload, name


# --------------------------------------------------------------------------- broken files

BROKEN = [
    (
        "garbage.vtt",
        random.Random(1).randbytes(4096),
        r"not UTF-8|NUL|control",
    ),
    ("truncated.vtt", b"WEBV", r"WEBVTT header \(line 1\)"),
    (
        "reversed.vtt",
        b"WEBVTT\n\n00:00:05.000 --> 00:00:01.000\nx\n",
        r"ends .* before it starts .* \(line 3, cue 1\)",
    ),
    (
        "badtime.vtt",
        b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:61.000 --> 00:01:02.000\nx\n",
        r"malformed cue timing .*\(line 6\)",
    ),
    (
        "day.vtt",
        b"WEBVTT\n\n25:00:00.000 --> 25:00:01.000\nx\n",
        r"beyond 24 hours \(line 3, cue 1\)",
    ),
    (
        "reversed.srt",
        b"1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\n00:00:09,000 --> 00:00:03,000\nx\n",
        r"ends .* \(cue 2\)",
    ),
    (
        "garbage.srt",
        b"\n1\n00:00:01,000 --> 00:00:02,000\nok\n\n:-)\n00:00:0x,000 --> 00:00:04,000\nyo\n",
        r"timing line that cannot be read .*\(cue 1\)",
    ),
    ("junk.srt", b"\n\nthis is not a cue\n\n1\n00:00:01,000 --> 00:00:02,000\nok\n", r"\(line 3\)"),
    ("binary.txt", b"PK\x03\x04\x00\x00\x08\x00 zip bytes", r"NUL bytes"),
    ("empty.txt", b"\n \n\t\n", r"no transcript segments"),
    (
        "only-tags.vtt",
        b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<b></b>\n",
        r"no transcript segments",
    ),
    ("notjson.json", b"<html>nope</html>", r"not valid JSON.*\(line 1\)"),
    ("call.docx", b"text", r"unknown transcript suffix"),
]


@pytest.mark.parametrize(("name", "content", "pattern"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_files_raise_sidecar_error_naming_the_file(
    tmp_path: Path, name: str, content: bytes, pattern: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(SidecarError) as caught:
        parse_sidecar(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert " — " in message
    assert "\n" not in message
    assert caught.match(pattern)


def test_too_large_and_missing_files(tmp_path: Path) -> None:
    big = write(tmp_path, "big.txt", "A: слово\n" * 1000)
    with pytest.raises(SidecarError, match=r"big\.txt: is \d+ bytes, over the 100-byte limit"):
        parse_sidecar(big, max_bytes=100)
    assert len(parse_sidecar(big).segments) == 1000
    with pytest.raises(SidecarError, match=r"nowhere\.srt: no such file"):
        parse_sidecar(tmp_path / "nowhere.srt")
    with pytest.raises(SidecarError, match="not a regular file"):
        parse_sidecar(_mkdir(tmp_path / "dir.vtt"))


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def test_suffixes_are_the_documented_four() -> None:
    assert SIDECAR_SUFFIXES == (".vtt", ".srt", ".json", ".txt")


# --------------------------------------------------------------------------- parties


@pytest.mark.parametrize(
    ("label", "party"),
    [
        ("A", "A"),
        ("a", "A"),
        ("caller", "A"),
        ("Caller", "A"),
        ("звонящий", "A"),
        ("Звонящий", "A"),
        ("B", "B"),
        ("callee", "B"),
        ("receiver", "B"),
        ("абонент", "B"),
        ("Абонент", "B"),
        ("SPEAKER_00", None),
        ("C", None),
        ("", None),
        (None, None),
    ],
)
def test_party_for_conventional_labels(label: str | None, party: str | None) -> None:
    assert party_for_label(label) == party


def test_party_for_names_from_the_call_record() -> None:
    names = {"caller_name": "Пётр Ёлкин", "callee_name": "Мария Ёлкина"}
    assert party_for_label("петр елкин", **names) == "A"
    assert party_for_label("  МАРИЯ  ЁЛКИНА ", **names) == "B"
    assert party_for_label("Мария", **names) is None
    assert party_for_label("Иван", caller_name="Иван", callee_name="иван") is None


def test_the_documented_json_example_parses(tmp_path: Path) -> None:
    doc = (Path(__file__).parents[2] / "docs" / "sidecar-json.md").read_text(encoding="utf-8")
    example = doc.split("```json\n", 1)[1].split("```", 1)[0]
    transcript = parse_sidecar(write(tmp_path, "example.json", example))
    assert transcript.language == "ru"
    assert [(s.speaker, len(s.words)) for s in transcript.segments] == [("A", 4), ("B", 0)]


_CUE_TOKENS = [*"<>v/.:-,&;{}\\[]AB аб\n\t01", "-->", "WEBVTT", "\x00", "00:00:01.000"]
_CUE_TEXT = st.lists(st.sampled_from(_CUE_TOKENS), max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(
    suffix=st.sampled_from(SIDECAR_SUFFIXES),
    prefix=st.sampled_from(
        ["", "WEBVTT\n\n", "1\n00:00:01,000 --> 00:00:02,000\n", '{"segments":']
    ),
    body=st.one_of(_CUE_TEXT, st.text(max_size=200), st.binary(max_size=200)),
)
def test_hostile_input_gives_a_transcript_or_a_sidecar_error(
    suffix: str, prefix: str, body: str | bytes
) -> None:
    data = prefix.encode() + (body if isinstance(body, bytes) else body.encode("utf-8"))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            transcript = parse_sidecar(path)
        except SidecarError as exc:
            assert str(exc).startswith(f"{path}: ")
            assert "\n" not in str(exc)
            return
    assert transcript.segments
    for segment in transcript.segments:
        assert segment.text and segment.text == segment.text.strip()
        categories = {unicodedata.category(ch) for ch in segment.text}
        assert not categories & {"Cc", "Cs"}
        assert "  " not in segment.text
        assert all(ch == " " or not ch.isspace() for ch in segment.text)
        if segment.start is not None and segment.end is not None:
            assert 0 <= segment.start <= segment.end <= 86400
