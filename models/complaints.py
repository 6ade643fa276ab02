"""Complaint classifier (投诉举报): category and urgency of Chinese free text, learnt online.

Hotline operators assign a category when they accept a complaint, and departments' dispositions
and operators' corrections say later whether it was right; every such label teaches the model
(``learn_one`` on a labelled complaint, ``learn_label`` on a correction). Text becomes words by
jieba (character bigrams as an option: no dictionary, better on slang and place codes), then a
bag of words with sublinear counts, then Complement naive Bayes by default: it learns from the
first labelled example, and with a few dozen labels per class and unbalanced classes it beat
multinomial naive Bayes (macro-F1 0.49) and a one-vs-rest logistic regression (0.40) by a wide
margin (0.63, progressive, on the government messages; models/EVALUATION.md).

The score is the probability of an urgent complaint (labels in ``urgent_labels``); the alert
means "urgent", the ``label`` field carries the predicted category.

>>> from datetime import datetime, UTC
>>> m = ComplaintClassifier(min_labels=2, tokens="char2")
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> for i, (text, cat) in enumerate([("小区垃圾没人清理", "环境保护"), ("工资拖欠三个月", "劳动和社会保障"),
...                                  ("垃圾堆放臭气熏天", "环境保护"), ("公司拖欠工资不发", "劳动和社会保障")]):
...     m.learn_one({"event_id": str(i), "event_time": t, "channel": "12345", "text": text,
...                  "category": cat})
>>> m.score_one({"event_id": "x", "event_time": t, "channel": "12345", "text": "拖欠工资"}).label
'劳动和社会保障'
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from river import linear_model, multiclass, naive_bayes, optim

from models.base import CONFIRMED, FALSE_ALARM, SourceModel, feedback_label
from models.cnb import ComplementNB
from models.errors import ModelError
from models.score import ModelScore
from schemas.records import Complaint

_NOISE = re.compile(r"[\s\u3000\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def tokenize(text: str, tokens: str = "jieba") -> list[str]:
    """Words (jieba) or character bigrams of Chinese text, punctuation and spaces dropped.

    Digit runs become ``0`` so amounts and dates do not make a new word each time.

    >>> tokenize("电梯  困人！", "char2")
    ['电梯', '困人']
    """
    text = _DIGITS.sub("0", text)
    if tokens == "char2":
        out: list[str] = []
        for chunk in _NOISE.split(text):
            out.extend(chunk[i : i + 2] for i in range(max(len(chunk) - 1, 1)) if chunk)
        return out
    import jieba

    jieba.setLogLevel(60)
    return [w for w in jieba.lcut(text) if not _NOISE.fullmatch(w)]


class ComplaintParams(BaseModel):
    """Hyperparameters a publication may set (JSON); unknown keys are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: Literal["jieba", "char2"] = "jieba"
    classifier: Literal["cnb", "nb", "logreg"] = "cnb"
    alpha: float = Field(1.0, gt=0, description="naive Bayes additive smoothing")
    min_labels: int = Field(20, ge=1, description="labels seen before the model may alert")
    urgent_labels: tuple[str, ...] = ("urgent", "high", "紧急", "特急")
    threshold: float = Field(0.5, gt=0, lt=1, description="P(urgent) above which it alerts")
    max_chars: int = Field(2000, ge=10, description="text beyond this is not read")
    seed: int = 42


class ComplaintClassifier(SourceModel):
    """Online category + urgency classifier over ``Complaint`` subject and text."""

    record_type = Complaint
    source = "complaints"
    factory = "complaint-classifier"
    state_version = "1"
    supervised = True

    def __init__(
        self,
        *,
        name: str = "complaint-classifier",
        version: str = "complaint-classifier-v1",
        tokens: Literal["jieba", "char2"] = "jieba",
        classifier: Literal["cnb", "nb", "logreg"] = "cnb",
        alpha: float = 1.0,
        min_labels: int = 20,
        urgent_labels: tuple[str, ...] = ("urgent", "high", "紧急", "特急"),
        threshold: float = 0.5,
        max_chars: int = 2000,
        seed: int = 42,
    ) -> None:
        p = ComplaintParams(
            tokens=tokens,
            classifier=classifier,
            alpha=alpha,
            min_labels=min_labels,
            urgent_labels=tuple(urgent_labels),
            threshold=threshold,
            max_chars=max_chars,
            seed=seed,
        )
        super().__init__(name=name, version=version, params=p.model_dump(mode="json"))
        self.tokens = p.tokens
        self.classifier = p.classifier
        self.alpha = p.alpha
        self.min_labels = p.min_labels
        self.urgent_labels = frozenset(p.urgent_labels)
        self.threshold = p.threshold
        self.max_chars = p.max_chars
        self.seed = p.seed
        self.category_model = self._make()
        self.urgency_model = self._make()
        self.labels_seen: Counter[str] = Counter()
        self.urgency_seen: Counter[str] = Counter()

    def _make(self) -> Any:
        if self.classifier == "cnb":
            return ComplementNB(alpha=self.alpha)
        if self.classifier == "nb":
            return naive_bayes.MultinomialNB(alpha=self.alpha)
        return multiclass.OneVsRestClassifier(
            linear_model.LogisticRegression(optimizer=optim.SGD(0.5))
        )

    # ------------------------------------------------------------------ features

    def features(self, record: Complaint) -> dict[str, float]:
        """Sublinear (1 + log) term counts of subject and text: a long rant is not 10 votes.

        Score-then-learn asks twice for the same record; segmenting Chinese text is the
        costly part, so the last record's features are kept (a copy is returned each time).
        """
        key = (record.event_id, record.subject, record.text)
        cached = getattr(self, "_last_features", None)
        if cached is not None and cached[0] == key:
            return dict(cached[1])
        text = f"{record.subject or ''} {record.text}"[: self.max_chars]
        counts = Counter(tokenize(text, self.tokens))
        out = {w: 1.0 + math.log(c) for w, c in counts.items()}
        self._last_features = (key, out)
        return dict(out)

    # ------------------------------------------------------------------ protocol

    @property
    def warmed_up(self) -> bool:
        return sum(self.labels_seen.values()) >= self.min_labels and len(self.labels_seen) >= 2

    def _score(self, record: Any) -> ModelScore:
        x = self.features(record)
        category = self.category_model.predict_one(x) if self.labels_seen else None
        p_urgent = 0.0
        if self.urgency_seen:
            proba = self.urgency_model.predict_proba_one(x)
            p_urgent = sum(v for k, v in proba.items() if k in self.urgent_labels)
        warm = self.warmed_up and any(k in self.urgent_labels for k in self.urgency_seen)
        return self._verdict(
            record,
            entity=record.uscc or record.event_id,
            score=p_urgent,
            threshold=self.threshold,
            features=x,
            label=category,
            uscc=record.uscc,
            warm=warm,
        )

    def learn_one(self, event: Any) -> None:
        """Learn the complaint's own category and urgency, when the record carries them."""
        record = self.coerce(event)
        if record.category is None and record.urgency is None:
            return
        x = self.features(record)
        if record.category is not None:
            self._learn_category(x, record.category)
        if record.urgency is not None:
            self._learn_urgency(x, record.urgency)

    def learn_label(self, features: Mapping[str, float], label: str) -> None:
        """Learn a correction for an earlier complaint's features.

        ``category:<name>`` or a bare name corrects the category, ``urgency:<level>`` the
        urgency; ``confirmed`` / ``false_alarm`` (or a disposition result) judge an urgency alert.
        """
        x = {k: float(v) for k, v in features.items()}
        kind, _, value = label.partition(":")
        if kind == "urgency" and value:
            self._learn_urgency(x, value)
        elif kind == "category" and value:
            self._learn_category(x, value)
        elif label in {CONFIRMED, FALSE_ALARM, "rectification", "not_found"}:
            urgent = sorted(self.urgent_labels)[0]
            self._learn_urgency(x, urgent if feedback_label(label) == CONFIRMED else "normal")
        elif label:
            self._learn_category(x, label)
        else:
            raise ModelError("empty label for the complaint classifier; send a category name")

    def _learn_category(self, x: dict[str, float], category: str) -> None:
        self.category_model.learn_one(x, category)
        self.labels_seen[category] += 1

    def _learn_urgency(self, x: dict[str, float], urgency: str) -> None:
        self.urgency_model.learn_one(x, urgency)
        self.urgency_seen[urgency] += 1
