"""The SSE parser against the WHATWG rules, re-chunked at random by hypothesis."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.codex.sse import SSEEvent, SSEEventTooLarge, SSEParser


def parse_all(chunks: list[bytes]) -> list[SSEEvent]:
    parser = SSEParser()
    events: list[SSEEvent] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    return events


def split_at(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for point in points:
        pieces.append(data[last:point])
        last = point
    pieces.append(data[last:])
    return pieces


# A stream that exercises every rule: all three line endings, multi-line data, comments,
# id/retry fields, an empty-data event (not dispatched), field without colon, a space-less
# value, multi-byte UTF-8 (2, 3 and 4 bytes) and a leading BOM.
STREAM = (
    "\ufeff: a comment line\r\n"
    "event: response.output_text.delta\r\n"
    'data: {"delta":"héllo ✓ 𝄞"}\r\n'
    "\r\n"
    "event: multi\n"
    "data: line one\n"
    "data:line two\n"
    "data\n"
    "id: 42\n"
    "retry: 1500\n"
    "\n"
    "event: ignored-without-data\r"
    "\r"
    "data: cr only\r"
    "id: bad\x00id\r"
    "retry: soon\r"
    "\r"
    "data: [DONE]\n\n"
    "data: never finished"
).encode()

EXPECTED = [
    SSEEvent("response.output_text.delta", '{"delta":"héllo ✓ 𝄞"}', None, None),
    SSEEvent("multi", "line one\nline two\n", "42", 1500),
    SSEEvent("message", "cr only", "42", 1500),
    SSEEvent("message", "[DONE]", "42", 1500),
]


def test_whole_stream_follows_the_rules():
    assert parse_all([STREAM]) == EXPECTED


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_any_chunking_gives_the_same_events(cuts):
    assert parse_all(split_at(STREAM, cuts)) == EXPECTED


def test_byte_by_byte_including_inside_utf8_and_crlf():
    assert parse_all([bytes([b]) for b in STREAM]) == EXPECTED


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    events=st.lists(st.tuples(st.sampled_from(["", "response.completed", "x"]), st.lists(_text, min_size=1, max_size=3)), max_size=8),
    ending=st.sampled_from(["\n", "\r\n", "\r"]),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
)
def test_generated_streams_round_trip(events, ending, cuts):
    wire = ""
    for name, lines in events:
        if name:
            wire += f"event: {name}{ending}"
        for line in lines:
            wire += f"data: {line}{ending}"
        wire += ending
    data = wire.encode()
    expected = [SSEEvent(name or "message", "\n".join(lines)) for name, lines in events]
    assert parse_all(split_at(data, cuts)) == expected


def test_a_cr_at_a_chunk_end_followed_by_lf_is_one_line_ending():
    # "data: a\r" | "\n\r\n": the LF belongs to the CR, then CRLF ends the event.
    assert parse_all([b"data: a\r", b"\n\r\n"]) == [SSEEvent("message", "a")]
    # Two CRs are two line endings: the event is dispatched at the second one.
    assert parse_all([b"data: b\r", b"\r"]) == [SSEEvent("message", "b")]


def test_invalid_utf8_is_replaced_not_fatal():
    assert parse_all([b"data: \xff\xfe ok\n\n"]) == [SSEEvent("message", "\ufffd\ufffd ok")]


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        (b"data:\n\n", [SSEEvent("message", "")]),  # an empty data field still dispatches
        (b"data:  two\n\n", [SSEEvent("message", " two")]),  # only one leading space goes
        (b"data:x\ndata: y\n\n", [SSEEvent("message", "x\ny")]),
        (b"Data: x\n\n", []),  # field names are case-sensitive
        (b"event: e\nevent:\ndata: x\n\n", [SSEEvent("message", "x")]),  # empty type means message
        (b"event: e\n\ndata: x\n\n", [SSEEvent("message", "x")]),  # no data: the type is reset
        (b"event:  e\ndata: x\n\n", [SSEEvent(" e", "x")]),
        (b"id: 1\ndata: a\n\nid\ndata: b\n\n", [SSEEvent("message", "a", "1"), SSEEvent("message", "b", "")]),
        (b"retry: 12a\nretry: 7\ndata: x\n\n", [SSEEvent("message", "x", None, 7)]),
        (b":\n: data: no\ndata: x\n\n", [SSEEvent("message", "x")]),
        (b"\xef\xbb\xbfdata: a\n\n\xef\xbb\xbfdata: b\n\n", [SSEEvent("message", "a")]),  # only the first BOM goes
        (b"data: a\r\n\r\ndata: b\n\n", [SSEEvent("message", "a"), SSEEvent("message", "b")]),  # LF after CR chunks
    ],
)
def test_whatwg_field_rules(wire, expected):
    assert parse_all([wire]) == expected
    assert parse_all([bytes([b]) for b in wire]) == expected


# -- size and speed ---------------------------------------------------------------------


def test_a_line_past_the_limit_raises_as_soon_as_it_crosses_it():
    """The unfinished line is never held beyond the limit: the chunk that crosses it raises."""
    parser = SSEParser(max_event_chars=1000)
    assert parser.feed(b"data: ") == []
    for _ in range(9):
        assert parser.feed(b"x" * 100) == []  # 906 characters held
    with pytest.raises(SSEEventTooLarge) as caught:
        parser.feed(b"x" * 100)
    assert caught.value.limit == 1000
    assert str(caught.value) == "an SSE line or event is longer than 1,000 characters"


def test_a_whole_line_past_the_limit_in_one_chunk_raises():
    with pytest.raises(SSEEventTooLarge):
        SSEParser(max_event_chars=1000).feed(b"data: " + b"x" * 1001 + b"\n\n")


def test_an_event_whose_data_lines_add_up_past_the_limit_raises():
    """Many short data lines without a blank line must not grow one event without bound."""
    parser = SSEParser(max_event_chars=1000)
    with pytest.raises(SSEEventTooLarge):
        for _ in range(20):
            parser.feed(b"data: " + b"y" * 60 + b"\n")


def test_events_up_to_the_limit_pass():
    parser = SSEParser(max_event_chars=1000)
    line = b"data: " + b"z" * 994  # 1000 characters, the field name included
    events = parser.feed(line + b"\n\n") + parser.feed(line[:500]) + parser.feed(line[500:] + b"\r\n\r\n")
    assert [len(e.data) for e in events] == [994, 994]


def test_an_8_mib_line_in_4_kib_chunks_is_parsed_in_linear_time():
    """Rescanning the held line per chunk took 83 s here; linear parsing takes ~0.02 s.

    The bound is 50x the target so a loaded machine cannot make it flaky, and the loop
    gives up early so a quadratic parser fails in seconds rather than minutes.
    """
    line = b"data: " + b"x" * (8 * 1024 * 1024) + b"\n\n"
    parser = SSEParser()
    events = []
    start = time.perf_counter()
    for i in range(0, len(line), 4096):
        events += parser.feed(line[i : i + 4096])
        assert time.perf_counter() - start < 5.0, f"only {i:,} bytes parsed in 5 s"
    assert [len(e.data) for e in events] == [8 * 1024 * 1024]
