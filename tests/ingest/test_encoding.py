"""Lines that are not UTF-8: GB18030 where they read as Chinese, Latin-1 where GB18030 would
swallow an ASCII letter, bad bytes replaced otherwise; a head cut inside a character."""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from reformdiag.ingest.encoding import GB18030, LATIN1, REPLACED, UTF8, decode_text

ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12)
WORD = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=12)
ACCENTED = st.sampled_from("áéíóúñüöäàèçÁÉÑÜß")
# common simplified characters (GB2312), as a zh_CN server's messages have them
CHINESE = st.text(st.sampled_from("收到快速关闭请求数据库系统已节点重启失败"), min_size=1, max_size=8)


def test_a_latin1_table_name_keeps_every_letter() -> None:
    line = 'ERROR:  relation "clientes_año" does not exist'
    assert decode_text(line.encode("latin-1")) == (line, LATIN1)


def test_chinese_messages_read_as_gb18030() -> None:
    line = "LOG:  收到快速关闭请求 (pid 3140211)"
    assert decode_text(line.encode("gb18030")) == (line, GB18030)
    assert decode_text(line.encode("utf-8")) == (line, UTF8)


def test_control_bytes_are_replaced() -> None:
    text, how = decode_text(b"abc \x81\x7f\x9d\xff def")
    assert how == REPLACED and text.startswith("abc ") and text.endswith(" def")


def test_a_head_cut_inside_a_character() -> None:
    head = "LOG:  数据库系统已关闭".encode("gb18030")[:-1]
    text, how = decode_text(head, final=False)
    assert how == GB18030 and text == "LOG:  数据库系统已关"
    assert decode_text("año".encode()[:2], final=False) == ("a", UTF8)


@given(st.lists(st.tuples(ASCII, ACCENTED, WORD), min_size=1, max_size=6))
def test_latin1_letters_between_ascii_lose_nothing(pieces: list[tuple[str, str, str]]) -> None:
    """Accented letters one at a time (a Western name or word) come back exactly."""
    line = "".join(a + c + w for a, c, w in pieces)
    assert decode_text(line.encode("latin-1"))[0] == line


@given(st.lists(st.tuples(ASCII, CHINESE), min_size=1, max_size=6))
def test_chinese_between_ascii_comes_back(pieces: list[tuple[str, str]]) -> None:
    line = "".join(a + c for a, c in pieces)
    raw = line.encode("gb18030")
    try:  # a short run can be valid UTF-8 too (系 is CF B5, UTF-8's ϵ): UTF-8 is read first
        raw.decode("utf-8")
        assume(False)
    except UnicodeDecodeError:
        pass
    assert decode_text(raw) == (line, GB18030)
