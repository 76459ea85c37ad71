"""Text columns as model inputs: word ids from a vocabulary fitted on the training rows, MiniLM's
word pieces, the frozen MiniLM sentence embedding, or TF-IDF. Each is a scikit-learn transformer
over one column, so it is fitted and saved with the rest of the FeatureTransform."""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer

WORD = re.compile(r"[a-z0-9]+(?:[/'.-][a-z0-9]+)*")
PAD, UNKNOWN = 0, 1


def words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def _texts(X) -> list[str]:  # noqa: ANN001
    series = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else pd.Series(np.asarray(X).ravel())
    return series.fillna("").astype(str).tolist()


def _name(X, default: str = "text") -> str:  # noqa: ANN001
    if isinstance(X, pd.DataFrame):
        return str(X.columns[0])
    return str(getattr(X, "name", None) or default)


class TextTokens(BaseEstimator, TransformerMixin):
    """Word ids (0 pad, 1 unknown, then the vocabulary by frequency), `max_length` per row."""

    def __init__(self, max_length: int = 32, vocab_size: int = 20_000, min_count: int = 1) -> None:
        self.max_length = max_length
        self.vocab_size = vocab_size
        self.min_count = min_count

    def fit(self, X, y=None) -> TextTokens:  # noqa: ANN001
        counts = Counter(w for text in _texts(X) for w in words(text))
        kept = [w for w, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) if n >= self.min_count]
        self.vocabulary_ = kept[: self.vocab_size]
        self.column_ = _name(X)
        return self

    @property
    def n_tokens_(self) -> int:
        return len(self.vocabulary_) + 2

    def transform(self, X) -> np.ndarray:  # noqa: ANN001
        index = {w: i + 2 for i, w in enumerate(self.vocabulary_)}
        out = np.zeros((len(X), self.max_length), dtype=np.float32)
        for row, text in enumerate(_texts(X)):
            ids = [index.get(w, UNKNOWN) for w in words(text)[: self.max_length]]
            out[row, : len(ids)] = ids
        return out

    def tokens_of(self, ids: list[int]) -> list[str]:
        """The words of a row's ids (an explanation shows them), padding as ''."""
        return ["" if i == 0 else "<unknown>" if i == UNKNOWN else self.vocabulary_[i - 2] for i in ids]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return np.array([f"{self.column_}#tok{i}" for i in range(self.max_length)], dtype=object)


class MiniLMTokens(BaseEstimator, TransformerMixin):
    """MiniLM's own WordPiece ids (0 pads); nothing is learned."""

    def __init__(self, max_length: int = 32) -> None:
        self.max_length = max_length

    def fit(self, X, y=None) -> MiniLMTokens:  # noqa: ANN001
        self.column_ = _name(X)
        return self

    @property
    def n_tokens_(self) -> int:
        from modelfab.nn.pretrained import minilm_tokenizer

        return minilm_tokenizer().get_vocab_size()

    def transform(self, X) -> np.ndarray:  # noqa: ANN001
        from modelfab.nn.pretrained import minilm_tokenizer

        encoded = minilm_tokenizer().encode_batch(_texts(X))
        out = np.zeros((len(encoded), self.max_length), dtype=np.float32)
        for row, e in enumerate(encoded):
            ids = e.ids[: self.max_length - 1] + ([e.ids[-1]] if len(e.ids) >= self.max_length else [])
            out[row, : len(ids)] = ids  # keep [SEP] at the end of a cut text, as BERT saw in training
        return out

    def tokens_of(self, ids: list[int]) -> list[str]:
        from modelfab.nn.pretrained import minilm_tokenizer

        tokenizer = minilm_tokenizer()
        return ["" if i == 0 else tokenizer.id_to_token(i) or "?" for i in ids]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return np.array([f"{self.column_}#tok{i}" for i in range(self.max_length)], dtype=object)


class MiniLMEmbedding(BaseEstimator, TransformerMixin):
    """The frozen MiniLM sentence embedding (mean-pooled, unit length), 384 columns."""

    def __init__(self, max_length: int = 64, batch_size: int = 64) -> None:
        self.max_length = max_length
        self.batch_size = batch_size

    def fit(self, X, y=None) -> MiniLMEmbedding:  # noqa: ANN001
        self.column_ = _name(X)
        return self

    def transform(self, X) -> np.ndarray:  # noqa: ANN001
        import torch

        ids = MiniLMTokens(self.max_length).fit(X).transform(X)
        net = _frozen_minilm()
        with torch.no_grad():
            parts = [net(torch.from_numpy(ids[i:i + self.batch_size]).long()) for i in range(0, len(ids), self.batch_size)]
        emb = torch.cat(parts) if parts else torch.zeros(0, MINILM_WIDTH)
        return torch.nn.functional.normalize(emb, dim=1).numpy().astype(np.float32)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return np.array([f"{self.column_}#emb{i}" for i in range(MINILM_WIDTH)], dtype=object)


MINILM_WIDTH = 384


@lru_cache(maxsize=1)
def _frozen_minilm():  # noqa: ANN202
    from modelfab.nn.pretrained import MiniLM

    return MiniLM().eval()


class Tfidf(TfidfVectorizer):
    """TF-IDF over one column, with feature names that say which column they came from."""

    def fit(self, X, y=None):  # noqa: ANN001, ANN201
        self.column_ = _name(X)
        return super().fit(_texts(X))

    def fit_transform(self, X, y=None):  # noqa: ANN001, ANN201
        self.column_ = _name(X)
        return super().fit_transform(_texts(X))

    def transform(self, X):  # noqa: ANN001, ANN201
        return super().transform(_texts(X))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:  # noqa: ANN001
        return np.array([f"{self.column_}#{w}" for w in super().get_feature_names_out()], dtype=object)


def text_transformer(c):  # noqa: ANN001, ANN201
    """The transformer for `features.text`."""
    if c.method == "tokens":
        return TextTokens(c.max_length, c.vocab_size, c.min_count)
    if c.method == "minilm_tokens":
        return MiniLMTokens(c.max_length)
    if c.method == "minilm_embedding":
        return MiniLMEmbedding(c.max_length)
    return Tfidf(max_features=c.vocab_size, min_df=c.min_count, ngram_range=(1, 2), sublinear_tf=True,
                 token_pattern=WORD.pattern, lowercase=True, dtype=np.float32)
