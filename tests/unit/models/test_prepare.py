"""A worker loads jieba's dictionary before its first event (``prepare``), not on it."""

from __future__ import annotations

from config.settings import Settings
from models.complaints import ComplaintClassifier
from models.jieba_dict import tokenizer
from models.worker_models import build_models


def test_the_workers_models_load_the_dictionary_their_complaint_words_need() -> None:
    models = build_models(Settings(_env_file=None))
    tokenizer.cache_clear()
    models.prepare()
    assert tokenizer.cache_info().currsize == 1


def test_a_classifier_without_words_loads_no_dictionary() -> None:
    tokenizer.cache_clear()
    ComplaintClassifier(tokens="char2").prepare()
    ComplaintClassifier(tokens="chars", word_weight=0.0).prepare()
    assert tokenizer.cache_info().currsize == 0
    ComplaintClassifier(tokens="jieba").prepare()
    assert tokenizer.cache_info().currsize == 1
