"""Complaint classifier (投诉举报): category and urgency of Chinese free text, learnt online.

Hotline operators assign a category when they accept a complaint, and departments' dispositions
and operators' corrections say later whether it was right; every such label teaches the model
(``learn_one`` on a labelled complaint, ``learn_label`` on a correction).

Default (chosen on the tuning part of the government messages, reported on the rest; see
models/EVALUATION.md): character 1–3-grams of the text plus its jieba words, each word counted
``word_weight`` times (a word says "社保" where grams also count "会社" across a word boundary), the
subject's grams and words weighted ``subject_weight`` times (a subject line is the writer's own
summary), raw counts, Complement naive Bayes. The weights (words ×2, subject ×8, priors ×16)
were chosen together on the tuning part (EVALUATION.md, third round): a ~20-character subject ×8
weighs about as much as a ~430-character body, and on those messages the subject alone told the
category better than the body alone. Before the first label, each category of the taxonomy (config/taxonomy/, ``schemas.categories``) is learnt
once as a pseudo-document of its second- and third-level names, weighted ``prior_weight``: the
model knows "物业" belongs to 城乡建设 before anybody said so, which is what a cold start lacks.
A category only the taxonomy named is never predicted until a real label arrives. Characters
need no dictionary, so slang, place codes and typos cost nothing; the words, one more token
beside some thousand grams, add what a dictionary knows without letting its mistakes decide.

The score is the probability of an urgent complaint (labels in ``urgent_labels``); the alert
means "urgent", the ``label`` field carries the predicted category.

>>> from datetime import datetime, UTC
>>> m = ComplaintClassifier(min_labels=2, prior_weight=0)
>>> t = datetime(2024, 1, 1, tzinfo=UTC)
>>> for i, (text, cat) in enumerate([("小区垃圾没人清理", "环境保护"), ("工资拖欠三个月", "劳动和社会保障"),
...                                  ("垃圾堆放臭气熏天", "环境保护"), ("公司拖欠工资不发", "劳动和社会保障")]):
...     m.learn_one({"event_id": str(i), "event_time": t, "channel": "12345", "text": text,
...                  "category": cat})
>>> m.score_one({"event_id": "x", "event_time": t, "channel": "12345", "text": "拖欠工资"}).label
'劳动和社会保障'
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import Counter
from collections.abc import Mapping
from functools import cache, lru_cache
from itertools import islice
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, NonNegativeFloat, PositiveFloat
from river import linear_model, multiclass, naive_bayes, optim

from models.base import SourceModel
from models.cnb import ComplementNB
from models.errors import IncompatibleSnapshot, ModelError
from models.hyperparameters import AtLeastOne, Probability, params_model
from schemas.categories import taxonomy
from schemas.labels import Label, confirmed
from schemas.records import Complaint, DispositionResult
from schemas.scores import ModelScore

_RESULTS = frozenset(r.value for r in DispositionResult)  # a label, not a category name

Tokens = Literal["chars", "jieba", "char2"]

_NOISE = re.compile(r"[\s\u3000\W_]+", re.UNICODE)
_DIGITS = re.compile(r"\d+")


def char_grams(text: str, longest: int = 3) -> list[str]:
    """Character 1…``longest``-grams of each run of word characters (digits become ``0``).

    >>> char_grams("电梯 困人", 2)
    ['1:电', '1:梯', '2:电梯', '1:困', '1:人', '2:困人']
    """
    out: list[str] = []
    for chunk in _NOISE.split(_DIGITS.sub("0", text)):
        n = len(chunk)
        for k in range(1, longest + 1):  # a list, not a generator of f-strings: ~30 % less
            prefix = f"{k}:"
            out += [prefix + chunk[i : i + k] for i in range(n - k + 1)]
    return out


def tokenize(text: str, tokens: str = "jieba", longest: int = 3) -> list[str]:
    """Words (jieba) or character bigrams of Chinese text, punctuation and spaces dropped.

    Digit runs become ``0`` so amounts and dates do not make a new word each time.

    >>> tokenize("电梯  困人！", "char2")
    ['电梯', '困人']
    """
    if tokens == "chars":
        return char_grams(text, longest)
    text = _DIGITS.sub("0", text)
    if tokens == "char2":
        out: list[str] = []
        for chunk in _NOISE.split(text):
            out.extend(chunk[i : i + 2] for i in range(max(len(chunk) - 1, 1)) if chunk)
        return out
    return list(_words(text))


@lru_cache(maxsize=4096)
def _words(text: str) -> tuple[str, ...]:
    """The words jieba cuts ``text`` into (digits already ``0``), punctuation dropped.

    Cached, as jieba is a pure function of the text with the shipped dictionary (nothing here
    adds words): a complaint's subject is one of a few titles, and a hotline repeats its
    phrasings. The words are jieba's, cut over its dictionary kept compact
    (``models/jieba_dict.py``: ~9 MiB instead of ~62 per worker, issue #16), imported here so
    that what never cuts a complaint never loads jieba."""
    from models.jieba_dict import tokenizer

    return tuple(w for w in tokenizer().lcut(text) if not _NOISE.fullmatch(w))


@lru_cache(maxsize=1024, typed=True)  # typed: a weight of 2 must not answer for 2.0
def _token_counts(text: str, tokens: str, longest: int, word_weight: float) -> dict[str, float]:
    """What :meth:`ComplaintClassifier._counts` returns for ``text``; shared, never mutate it.

    Cached because it is a pure function of the text and these parameters and was ~30 % of
    a complaint's scoring (character grams, jieba, counting): a subject is one of a few titles
    per enterprise, and a hotline repeats its phrasings (duplicate complaints). Bounded at
    1,024 texts, ~10 KB each at most; a text seen once costs what it did before.
    """
    out = {w: float(c) for w, c in Counter(tokenize(text, tokens, longest)).items()}
    if word_weight and tokens == "chars":
        for w, c in Counter(tokenize(text, "jieba")).items():
            out[f"w:{w}"] = word_weight * c
    return out


class ComplaintClassifier(SourceModel):
    """Online category + urgency classifier over ``Complaint`` subject and text.

    Parameters (what a publication may set, as JSON): ``tokens`` and ``classifier``; ``alpha``
    the naive Bayes additive smoothing; ``longest`` the longest character gram
    (``tokens="chars"``); ``subject_weight`` the weight of the subject line's tokens;
    ``word_weight`` the weight of jieba words beside the grams (``tokens="chars"``; 0: none);
    ``prior_weight`` the weight of the taxonomy priors (0: none); ``min_labels`` labels seen
    before the model may alert; ``urgent_labels`` the urgencies that count as urgent;
    ``threshold`` the P(urgent) above which it alerts; ``max_chars`` how much of a text is
    read; ``seed``.
    """

    record_type = Complaint
    source = "complaints"
    factory = "complaint-classifier"
    state_version = "2"
    supervised = True

    def __init__(
        self,
        *,
        name: str = "complaint-classifier",
        version: str = "complaint-classifier-v1",
        tokens: Tokens = "chars",
        classifier: Literal["cnb", "nb", "logreg"] = "cnb",
        alpha: PositiveFloat = 1.0,
        longest: Annotated[int, Field(ge=1, le=5)] = 3,
        subject_weight: NonNegativeFloat = 8.0,
        word_weight: NonNegativeFloat = 2.0,
        prior_weight: NonNegativeFloat = 16.0,
        min_labels: AtLeastOne = 20,
        urgent_labels: tuple[str, ...] = ("urgent", "high", "紧急", "特急"),
        threshold: Probability = 0.5,
        max_chars: Annotated[int, Field(ge=10)] = 2000,
        seed: int = 42,
    ) -> None:
        super().__init__(name=name, version=version, params=locals())
        self.tokens = tokens
        self.classifier = classifier
        self.alpha = alpha
        self.subject_weight = subject_weight
        self.word_weight = word_weight
        self.longest = longest
        self.min_labels = min_labels
        self.urgent_labels = frozenset(urgent_labels)
        self.threshold = threshold
        self.max_chars = max_chars
        self.seed = seed
        self.category_model = self._make()
        self.urgency_model = self._make()
        self.labels_seen: Counter[str] = Counter()
        self.urgency_seen: Counter[str] = Counter()
        if prior_weight and self.classifier == "cnb":
            for category, names in taxonomy().items():
                grams = self._counts(names)
                self.category_model.learn_one(
                    {w: prior_weight * c for w, c in grams.items()}, category
                )
            self.category_model.track_learnt()
        self._on_priors: bool | None = True
        """Whether the category model extends its taxonomy priors (their words and classes
        first, in their order), as one built on them does (None: not checked yet, as for a
        whole model of an older release). Checked once: a model only ever appends."""

    def _make(self) -> Any:
        if self.classifier == "cnb":
            return ComplementNB(alpha=self.alpha)
        if self.classifier == "nb":
            return naive_bayes.MultinomialNB(alpha=self.alpha)
        return multiclass.OneVsRestClassifier(
            linear_model.LogisticRegression(optimizer=optim.SGD(0.5))
        )

    # ------------------------------------------------------------------ snapshots

    def __getstate__(self) -> dict[str, Any]:
        """What a pickle (a checkpoint's snapshot) keeps: the category model without its
        taxonomy priors, only the counts learning changed (:class:`_PriorDelta`).

        Why: a partition's classifier was ~90 % of its models' bytes at every checkpoint, and
        ~75 % of it the priors, which the taxonomy rebuilds exactly (a fresh classifier pickles
        to 162 KB; after 200 complaints 51 KB packed whole, 17 KB as a delta). The per-record
        feature cache is not kept either.
        """
        state = dict(self.__dict__)
        state.pop("_last_features", None)
        state.pop("_learned", None)  # kept by releases before the dense counts
        state.pop("_on_priors", None)
        key = self._prior_key()
        model = self.category_model
        if isinstance(model, ComplementNB) and _prior(key) is not None:
            on_priors = getattr(self, "_on_priors", None)
            if on_priors is None:
                on_priors = self._on_priors = _PriorDelta.extends(model, key)
            if on_priors:
                state["category_model"] = _PriorDelta.of(model, key)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        delta = state.get("category_model")
        on_priors = None  # a whole model: not known
        if isinstance(delta, _PriorDelta):  # older snapshots hold the whole model
            state = {**state, "category_model": delta.apply(_prior(delta.key))}
            on_priors = True
        self.__dict__.update(state)
        self._on_priors = on_priors

    def _prior_key(self) -> tuple[Any, ...]:
        return (
            self.tokens,
            self.longest,
            getattr(self, "word_weight", 0.0),
            self.params.get("prior_weight", 0.0),
            self.alpha,
        )

    # ------------------------------------------------------------------ features

    def _counts(self, text: str) -> dict[str, float]:
        """Character-gram counts of ``text`` plus ``word_weight`` × its jieba word counts (a
        fresh dict: the caller may add to it).

        Words are keyed ``w:<word>`` so a one-character word never adds to the ``1:`` gram.
        """
        weight = getattr(self, "word_weight", 0.0)  # absent in snapshots from before words
        return dict(_token_counts(text, self.tokens, self.longest, weight))

    def features(self, record: Complaint) -> dict[str, float]:
        """Token counts of the text plus ``subject_weight`` × those of the subject.

        Raw counts for character grams and words (sublinear 1 + log counts for ``tokens=jieba``
        alone, as before): on the tuning part raw counts won. Score-then-learn asks twice for
        the same record, so the last record's features are kept (a copy is returned each time).
        """
        key = (record.event_id, record.subject, record.text)
        cached = getattr(self, "_last_features", None)
        if cached is not None and cached[0] == key:
            return dict(cached[1])
        subject = (record.subject or "")[: self.max_chars]
        if self.tokens == "chars":
            out = self._counts(record.text[: self.max_chars])
            for w, c in self._counts(subject).items():
                out[w] = out.get(w, 0.0) + self.subject_weight * c
        else:
            text = f"{subject} {record.text}"[: self.max_chars]
            out = {w: 1.0 + math.log(c) for w, c in Counter(tokenize(text, self.tokens)).items()}
        self._last_features = (key, out)
        return dict(out)

    def _category(self, x: dict[str, float]) -> str | None:
        """The likeliest category among those real labels have named (not taxonomy-only)."""
        if not self.labels_seen:
            return None
        if isinstance(self.category_model, ComplementNB):
            return self._likeliest(self.category_model.joint_log_likelihood(x, self.labels_seen))
        predicted: str | None = self.category_model.predict_one(x)
        return predicted

    def _likeliest(self, jll: dict[str, float]) -> str:
        return max(self.labels_seen, key=lambda c: (jll.get(c, -math.inf), c))

    # ------------------------------------------------------------------ protocol

    def prepare(self) -> None:
        """Load jieba's dictionary when the tokens use words: ~0.75 s of CPU on the 2-core
        machine (timed alone), which the worker's first complaint paid inside the bench's
        measured window (py-spy, bench/RESULTS.md 2026-12-06 15:04) and in its own latency."""
        if self.tokens == "jieba" or (self.tokens == "chars" and self.word_weight):
            from models.jieba_dict import tokenizer

            tokenizer()

    @property
    def warmed_up(self) -> bool:
        """Alert once ``min_labels`` labels span two categories or more: one is no classifier."""
        return sum(self.labels_seen.values()) >= self.min_labels and len(self.labels_seen) >= 2

    def _score(self, record: Any) -> ModelScore:
        x = self.features(record)
        p_urgent = 0.0
        if self.urgency_seen:
            p_urgent = self._urgent(self.urgency_model.predict_proba_one(x))
        return self._scored(record, x, self._category(x), p_urgent)

    def _urgent(self, proba: dict[str, float]) -> float:
        return sum(v for k, v in proba.items() if k in self.urgent_labels)

    def _scored(
        self, record: Any, x: dict[str, float], category: str | None, p: float
    ) -> ModelScore:
        warm = self.warmed_up and any(k in self.urgent_labels for k in self.urgency_seen)
        return self._verdict(
            record,
            entity=record.uscc or record.event_id,
            score=p,
            threshold=self.threshold,
            features=x,
            label=category,
            uscc=record.uscc,
            warm=warm,
        )

    def process(self, event: Any) -> ModelScore:
        """Score, then learn (:meth:`SourceModel.process`), each complement naive Bayes model
        scoring and learning a word in one pass (:meth:`ComplementNB.score_then_learn`): the
        same verdicts and the same state, ~10 % less CPU per complaint (issue #16)."""
        category_model, urgency_model = self.category_model, self.urgency_model
        if not isinstance(category_model, ComplementNB):
            return super().process(event)  # nb or logreg: score, then learn
        assert isinstance(urgency_model, ComplementNB)  # one classifier for both (_make)
        record = self.coerce(event)
        x = self.features(record)
        category, urgency = record.category, record.urgency
        predicted = self._category(x) if category is None else None
        if category is not None:
            if self.labels_seen:
                jll = category_model.score_then_learn(x, category, self.labels_seen)
                predicted = self._likeliest(jll)
            else:
                category_model.learn_one(x, category)
        p_urgent = 0.0
        if urgency is None:
            if self.urgency_seen:
                p_urgent = self._urgent(urgency_model.predict_proba_one(x))
        elif self.urgency_seen:
            p_urgent = self._urgent(urgency_model.proba(urgency_model.score_then_learn(x, urgency)))
        else:
            urgency_model.learn_one(x, urgency)
        result = self._scored(record, x, predicted, p_urgent)
        if category is not None:
            self.labels_seen[category] += 1
        if urgency is not None:
            self.urgency_seen[urgency] += 1
        drift = self.drift.update_score(result.score)
        if drift is not None:
            self._drift_events.append(drift)
        return result

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

    def learn_label(self, features: Mapping[str, float], label: Label) -> None:
        """Learn a correction for an earlier complaint's features.

        ``category:<name>`` or a bare name corrects the category, ``urgency:<level>`` the
        urgency; a disposition's label (True/False or a result, ``schemas.labels``) judges an
        urgency alert, and not found teaches nothing.
        """
        x = {k: float(v) for k, v in features.items()}
        if isinstance(label, bool) or label in _RESULTS:
            verdict = confirmed(label)
            if verdict is not None:
                urgent = sorted(self.urgent_labels)[0]
                self._learn_urgency(x, urgent if verdict else "normal")
            return
        kind, _, value = label.partition(":")
        if kind == "urgency" and value:
            self._learn_urgency(x, value)
        elif kind == "category" and value:
            self._learn_category(x, value)
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


@cache
def _prior(key: tuple[Any, ...]) -> tuple[ComplementNB, str] | None:
    """The category model a fresh classifier with these prior settings starts from (its
    taxonomy priors, nothing learnt), and a digest of its counts; None without priors. Built
    once per process and never changed (callers copy what they take). The digest is taken over
    the counts as dicts (``feature_counts``), as releases that kept them so took it: their
    snapshots' deltas still load."""
    tokens, longest, word_weight, prior_weight, alpha = key
    if not prior_weight:
        return None
    fresh = ComplaintClassifier(
        tokens=tokens,
        longest=longest,
        word_weight=word_weight,
        prior_weight=prior_weight,
        alpha=alpha,
    )
    model = fresh.category_model
    digest = hashlib.sha256(
        repr((sorted(model.feature_counts.items()), sorted(model.feature_totals.items()))).encode()
    ).hexdigest()
    return model, digest


_SCALARS = ("alpha", "class_counts", "class_totals", "total")
"""What a :class:`_PriorDelta` keeps of a ComplementNB as it is (besides its counts)."""


class _PriorDelta:
    """A ComplementNB stored as what differs from its taxonomy priors (see
    :meth:`ComplaintClassifier.__getstate__`): the words learnt after the priors' (rows past
    theirs, in order), its classes, and every count and word total that differs from the
    priors' as (row, column, value), values copied, never computed: the restored model is equal,
    bit for bit. With the digest of the priors it was taken against: a worker whose taxonomy
    differs refuses it (the snapshot is then refused, and the model starts fresh) rather than
    mixing two. A delta of an older release (``fields`` with per-word dicts, ``feature_counts``)
    still loads."""

    def __init__(self, key: tuple[Any, ...], digest: str, fields: dict[str, Any]) -> None:
        self.key = key
        self.digest = digest
        self.fields = fields

    @staticmethod
    def extends(model: ComplementNB, key: tuple[Any, ...]) -> bool:
        """Whether ``model``'s first words and classes are the priors', in their order."""
        prior = _prior(key)
        assert prior is not None  # only called for a classifier with priors
        base = prior[0]
        n0, k0 = len(base._rows), len(base._columns)
        return list(islice(model._columns, k0)) == list(base._columns) and list(
            islice(model._rows, n0)
        ) == list(base._rows)

    @classmethod
    def of(cls, model: ComplementNB, key: tuple[Any, ...]) -> _PriorDelta:
        """``model`` (which :meth:`extends` the priors of ``key``) as its difference from them.
        Only the rows learning changed (``ComplementNB.learnt_rows``: ~600 of ~4,000 after
        3,000 complaints) are compared, in one vectorised comparison; the words learnt after
        the priors' are all kept."""
        prior = _prior(key)
        assert prior is not None  # only called for a classifier with priors
        base, digest = prior
        n0, k0 = len(base._rows), len(base._columns)
        n, k = len(model._rows), len(model._columns)
        learnt = model.learnt_rows()
        learnt = learnt[learnt < n0]
        block = model._counts[learnt, :k]
        before = np.zeros_like(block)
        before[:, :k0] = base._counts[learnt, :k0]
        rows, columns = np.nonzero(block != before)
        values = block[rows, columns]
        rows = learnt[rows]
        added = model._counts[n0:n, :k]
        new_rows, new_columns = np.nonzero(added)
        changed = learnt[model._totals[learnt] != base._totals[learnt]]
        changed = np.concatenate((changed, np.arange(n0, n)))
        fields = {name: getattr(model, name) for name in _SCALARS}
        fields["words"] = list(islice(model._rows, n0, None))
        fields["classes"] = list(model._columns)
        fields["cells"] = (
            np.concatenate((rows, new_rows + n0)).astype(np.int32),
            np.concatenate((columns, new_columns)).astype(np.int32),
            np.concatenate((values, added[new_rows, new_columns])),
        )
        fields["totals"] = (changed.astype(np.int32), model._totals[changed])
        return cls(key, digest, fields)

    def apply(self, prior: tuple[ComplementNB, str] | None) -> ComplementNB:
        if prior is None or prior[1] != self.digest:
            raise IncompatibleSnapshot(
                "the complaint classifier's snapshot was taken against other taxonomy priors "
                "than this worker's (config/taxonomy/ changed); it starts fresh"
            )
        base, fields = prior[0], self.fields
        model = ComplementNB.__new__(ComplementNB)
        if "feature_counts" in fields:  # an older release's delta: per-word dicts
            feature_counts = base.feature_counts
            feature_counts.update(fields["feature_counts"])
            feature_totals = {**base.feature_totals, **fields["feature_totals"]}
            model.__setstate__(
                {**fields, "feature_counts": feature_counts, "feature_totals": feature_totals}
            )
            learnt = {**fields["feature_counts"], **fields["feature_totals"]}
            model.track_learnt(model._rows[f] for f in learnt)
            return model
        n0, k0 = len(base._rows), len(base._columns)
        words = [*base._rows, *fields["words"]]
        n, k = len(words), len(fields["classes"])
        counts = np.zeros((n, k))
        counts[:n0, :k0] = base._counts[:n0, :k0]
        rows, columns, values = fields["cells"]
        counts[rows, columns] = values
        totals = np.zeros(n)
        totals[:n0] = base._totals[:n0]
        changed, changed_totals = fields["totals"]
        totals[changed] = changed_totals
        state = {name: fields[name] for name in _SCALARS}
        state.update(_rows=words, _columns=fields["classes"], _counts=counts, _totals=totals)
        model.__setstate__(state)
        model.track_learnt(np.union1d(rows, changed).tolist())
        return model


ComplaintParams = params_model(ComplaintClassifier)
"""What a publication of this factory may set: derived from ``__init__`` (models/factories.py)."""
