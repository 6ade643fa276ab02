"""The compact jieba dictionary cuts the words stock jieba cuts (issue #16): real texts, the
DAG and route float for float on generated ones, every entry of ``FREQ``, and a damaged cache."""

from __future__ import annotations

import tempfile
from functools import cache
from itertools import islice

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.datasets import zh_message_files, zh_messages
from models import jieba_dict
from models.complaints import _DIGITS, _NOISE, tokenize
from schemas.sample_stream import stream


@cache
def stock() -> jieba.Tokenizer:
    """jieba's own default tokenizer, its dict of ~500,000 entries loaded."""
    jieba.setLogLevel(60)
    jieba.initialize()
    return jieba.dt


def _texts() -> list[str]:
    """The government messages' subjects and bodies, and the bench stream's complaints, as
    written and with digits as the classifier has them (``0``)."""
    if not zh_message_files():
        pytest.skip("the shared government messages (../shared/data/complaints) are not here")
    out = [r[f] for r, _ in zh_messages() for f in ("subject", "text")]
    out += [
        e.event[f]
        for e in stream(400, seed=3)
        if e.source == "complaints"
        for f in ("subject", "text")
    ]
    return out + [_DIGITS.sub("0", t) for t in out]


def test_real_texts_are_cut_into_the_same_words():
    texts = _texts()
    assert len(texts) > 1_000
    compact = jieba_dict.tokenizer()
    differ = [t for t in texts if compact.lcut(t) != stock().lcut(t)]
    assert differ == []
    # and without the HMM, and in jieba's other two modes, which read FREQ and the DAG too
    for t in texts[:200]:
        assert compact.lcut(t, HMM=False) == stock().lcut(t, HMM=False)
        assert compact.lcut(t, cut_all=True) == stock().lcut(t, cut_all=True)
        assert compact.lcut_for_search(t) == stock().lcut_for_search(t)


def test_the_classifiers_words_are_stock_jiebas_words():
    for text in islice(_texts(), 0, None, 7):
        words = [w for w in stock().lcut(_DIGITS.sub("0", text)) if not _NOISE.fullmatch(w)]
        assert tokenize(text, "jieba") == words


def test_every_entry_of_freq_and_the_total_are_jiebas():
    ours, theirs = jieba_dict.tokenizer().FREQ, stock().FREQ
    assert len(ours) == len(theirs) == 498_113
    assert jieba_dict.tokenizer().total == stock().total
    assert all(ours[k] == v and ours.get(k) == v and k in ours for k, v in theirs.items())
    assert set(ours) == set(theirs)
    for missing in ("垃圾x", "", "zz", "\U0001f600"):
        assert missing not in ours
        assert ours.get(missing) is None
        assert ours.get(missing, 7) == 7
        with pytest.raises(KeyError):
            ours[missing]


# Characters from the dictionary's words (so that long words do occur), with the ones jieba
# cuts apart or reads as English, and the Unicode edges of its block pattern.
_CHARS = st.sampled_from(
    list("小区门口垃圾堆放没人清理工资拖欠三个月社会保障中华人民共和国长江大桥")
) | st.sampled_from(list("的了是在不有一B超aZ09.+#&_%-\u4e00\u9fd5"))


@settings(max_examples=300, deadline=None)
@given(st.lists(_CHARS, min_size=1, max_size=40).map("".join))
def test_dag_and_route_are_jiebas_float_for_float(sentence):
    compact = jieba_dict.tokenizer()
    dag = compact.get_DAG(sentence)
    assert dag == stock().get_DAG(sentence)
    ours: dict = {}
    theirs: dict = {}
    compact.calc(sentence, dag, ours)
    stock().calc(sentence, dag, theirs)
    assert ours == theirs  # floats compared exactly
    assert compact.lcut(sentence) == stock().lcut(sentence)


def test_the_dictionary_cannot_be_changed():
    compact = jieba_dict.tokenizer()
    with pytest.raises(TypeError):
        compact.add_word("垃圾清理站", 100)
    assert "垃圾清理站" not in compact.FREQ
    assert compact.total == stock().total


def test_a_damaged_cache_file_is_refused_and_rebuilt(tmp_path, monkeypatch):
    """marisa would crash the interpreter on damaged bytes: the digest is checked first."""
    jieba_dict.tokenizer()  # loaded from the cache file, or built and written there
    good = jieba_dict.cache_path().read_bytes()
    for bad in (good[:-1], good[:300] + bytes([good[300] ^ 1]) + good[301:], b"", good[:40]):
        with pytest.raises(ValueError, match="compact jieba dictionary"):
            jieba_dict.load(bad)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    cached = jieba_dict.cache_path()
    assert cached.parent == tmp_path
    cached.write_bytes(good[: len(good) // 2])
    rebuilt = jieba_dict.tokenizer.__wrapped__()
    assert cached.read_bytes() == good  # the build is deterministic, and put back in place
    assert rebuilt.lcut("小区门口垃圾堆放，没人清理") == stock().lcut("小区门口垃圾堆放，没人清理")
    assert [p.name for p in tmp_path.iterdir()] == [cached.name]  # no temporary file left
