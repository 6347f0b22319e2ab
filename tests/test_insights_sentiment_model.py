"""Customer sentiment on real customer reviews: the n-gram model, its file, and accuracy on the
shipped sample of the public corpora's test splits (full evaluation: bench/bench_sentiment.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analyzers.insights.evaluation import LabelledSentence, evaluate, read_labelled
from analyzers.insights.sentiment import SentimentClassifier, classify
from analyzers.insights.sentiment_model import MODEL_PATH, NgramModel, load_model, ngrams, save_model
from bench.sentiment_corpora import ecd_split, read_ecd_labels, split_of

SAMPLE = Path(__file__).parent / "data" / "sentiment_reviews_sample.jsonl"
MODEL = load_model()
CORPORA = ("waimai", "hotel", "shopping")
# Regression floors a little under what this balanced sample measures (waimai 0.865 / 3.5 %
# neutral, hotel 0.855 / 1.5 %, shopping 0.925 / 2 %); docs/benchmarks.md has the full test
# splits and where the target (>= 0.85 correct, <= 15 % neutral) is and is not met.
ACCURACY_FLOOR = {"waimai": 0.83, "hotel": 0.82, "shopping": 0.89}
NEUTRAL_CEILING = {"waimai": 0.07, "hotel": 0.05, "shopping": 0.05}
NEGATIVE_PRECISION_FLOOR = 0.8  # hotel's sample measures 0.84: long mixed reviews


@pytest.fixture(scope="module")
def sample():
    return read_labelled(SAMPLE)


def test_sample_is_balanced_real_reviews_from_the_test_splits(sample):
    """GIVEN the shipped review sample THEN it holds 100 positive and 100 negative reviews of each
    corpus, all distinct, and every one falls in its corpus's test split (never trained or tuned on)."""
    expected = {(c, x): 100 for c in CORPORA for x in ("positive", "negative")}
    assert Counter((r.domain, r.label) for r in sample) == expected
    assert len({r.text for r in sample}) == len(sample)
    assert all(r.split == "test" and split_of(r.text) == "test" for r in sample)


@pytest.mark.parametrize("corpus", CORPORA)
def test_accuracy_on_real_reviews(sample, corpus):
    """GIVEN real polar customer reviews of one corpus WHEN classified THEN enough are labelled
    correctly and few are left neutral."""
    report = evaluate([r for r in sample if r.domain == corpus], lambda t: classify(t).label)
    assert report.accuracy >= ACCURACY_FLOOR[corpus], report.accuracy
    assert report.neutral_rate <= NEUTRAL_CEILING[corpus], report.neutral_rate
    assert report.precision("negative") >= NEGATIVE_PRECISION_FLOOR  # a complaint marker must be believable


def test_the_model_beats_the_lexicon_alone_on_real_reviews(sample):
    """GIVEN the review sample WHEN the lexicon alone and the lexicon with the model classify it
    THEN the model decides many more reviews, and correctly."""
    lexicon_alone = SentimentClassifier()
    alone = evaluate(sample, lambda t: lexicon_alone.classify(t).label)
    both = evaluate(sample, lambda t: classify(t).label)
    assert both.accuracy >= alone.accuracy + 0.15
    assert both.neutral_rate <= alone.neutral_rate / 2


ECD = read_ecd_labels()


def test_ecd_labels_are_distinct_customer_turns_split_by_hash():
    """GIVEN the labelled customer turns of the real e-commerce chat sample (ECD) THEN every text
    appears once, the train part is exactly the turns the hash puts in training, and the dev and
    test parts are never trained on."""
    assert len({r.text for r in ECD}) == len(ECD)
    assert Counter(r.split for r in ECD).keys() == {"train", "dev", "test"}
    assert all((r.split == "train") == (ecd_split(r.text) == "train") for r in ECD)
    assert {r.label for r in ECD} == {"positive", "neutral", "negative"}


def test_real_customer_service_chat_is_mostly_left_neutral_and_complaints_are_found():
    """GIVEN real customers' messages to Taobao shops' service (ECD test part: orders, parcels,
    prices, a few complaints; never trained or tuned on) WHEN classified THEN few neutral messages
    get a marker, and the model finds more of the complaints than the lexicon alone. Floors a
    little under what docs/benchmarks.md measures (neutral recall 0.89, complaints found 0.80
    against 0.60)."""
    test = [r for r in ECD if r.split == "test"]
    ours = evaluate(test, lambda t: classify(t).label)
    alone = SentimentClassifier()
    lexicon = evaluate(test, lambda t: alone.classify(t).label)
    assert ours.recall("neutral") >= 0.85, ours.recall("neutral")
    assert ours.recall("negative") >= 0.7, ours.recall("negative")
    assert ours.recall("negative") > lexicon.recall("negative")


def brute_force_logit(model: NgramModel, text: str) -> float:
    """The model's definition spelled out: bias plus the weight of every distinct substring of
    length 1 to 3 (each counted once however often it occurs)."""
    distinct = {text[i:j] for i in range(len(text)) for j in range(i + 1, min(i + 3, len(text)) + 1)}
    return model.bias.real + sum(model.weights.get(g, 0j).real for g in distinct)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("好差不很快慢吃送味道一般，。！？ab1\n")), max_size=40))
def test_logit_is_the_sum_over_distinct_ngrams(text):
    """GIVEN any text THEN the model's logit equals the brute-force sum over its distinct n-grams."""
    model = MODEL
    assert ngrams(text) == {text[i:j] for i in range(len(text)) for j in range(i + 1, min(i + 3, len(text)) + 1)}
    assert model.logit(text) == pytest.approx(brute_force_logit(model, text))


def test_the_shipped_model_file_is_small_and_says_where_it_came_from():
    """GIVEN the bundled model THEN it is a few MB at most, names its training data, and reads
    praise and complaints the right way round."""
    assert MODEL_PATH.stat().st_size < 3_000_000
    header = [line for line in MODEL_PATH.read_text(encoding="utf-8").splitlines()[:6] if line.startswith("#")]
    assert any("train splits only" in line for line in header)
    model = load_model()
    assert len(model.weights) > 10_000
    assert model.logit("味道很好，送餐很快") > 0 > model.logit("太难吃了，送餐又慢")
    assert model.opinion("味道很好，送餐很快") > 0 > model.opinion("帮我查一下快递到哪了")


def test_save_and_load_round_trip(tmp_path):
    """GIVEN a model WHEN saved and loaded THEN the weights (to the stored precision) come back."""
    path = tmp_path / "model.tsv"
    save_model(NgramModel({"好": 1.25 + 0.5j, "差评": -2.5, " ": 0.1j}, -0.125 - 3j), path, ["test model"])
    loaded = load_model(path)
    assert loaded.bias == -0.125 - 3j
    assert loaded.weights == {"好": 1.25 + 0.5j, "差评": -2.5, " ": 0.1j}


@pytest.mark.parametrize(
    "line",
    ["好 1.2 0.1", "好\tstrong\t0.1", "\t1.0\t0.1", "好\t1.0"],
    ids=["no-tab", "not-a-number", "no-feature", "one-weight"],
)
def test_a_bad_model_line_is_a_clear_error(tmp_path, line):
    """GIVEN a model file with a malformed line WHEN loaded THEN the error names the file and line."""
    path = tmp_path / "model.tsv"
    path.write_text("# header\n__bias__\t0.1\t-1\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"model.tsv:3"):
        load_model(path)


@pytest.mark.parametrize(
    "text, label",
    [
        ("送餐很快，味道也不错", "positive"),
        ("米饭是夹生的，等了两个小时", "negative"),
        ("房间干净，早餐丰富，下次还住", "positive"),
        ("隔音太差，一晚上没睡着", "negative"),
        ("这个方案不是不好，是真的挺适合我的", "positive"),
    ],
    ids=["delivery-praise", "delivery-complaint", "hotel-praise", "hotel-complaint", "double-negation"],
)
def test_review_language_the_lexicon_alone_missed(text, label):
    """GIVEN customer wording outside the lexicon (or a negation the model must not misread)
    WHEN classified THEN it gets the expected label."""
    assert classify(text).label == label


KNOWN_MISREAD = pytest.mark.xfail(
    strict=True, reason="e-commerce logistics words read as opinion (docs/benchmarks.md, Insights: still weak)"
)


@pytest.mark.parametrize(
    "text",
    [
        "麻烦把发票开一下",
        "帮我把收货地址改成公司的",
        "麻烦发一下发票",
        "我明天去取件",
        "顺丰到付就行",
        "尺码选L的",
        "地址是上海市浦东新区",
        "我已经付款了",
        "帮我备注一下不要辣",
        "明天下午三点送到公司前台",
        pytest.param("退货单号我已经填好了", marks=KNOWN_MISREAD),
    ],
)
def test_requests_and_arrangements_stay_neutral(text):
    """GIVEN a customer's request or arrangement (no opinion; sentences written for this test,
    not in the chat set, and not tuned on) WHEN classified THEN it stays neutral, however a
    model of reviews would read its words. One of the eleven is still misread (xfail)."""
    assert classify(text).label == "neutral", classify(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["positive", "negative"]), st.sampled_from(["positive", "neutral", "negative"])),
        min_size=1,
        max_size=40,
    )
)
def test_neutral_rate_and_polar_macro_f1_match_a_brute_force_count(pairs):
    """GIVEN any (true, predicted) labels on a polar corpus THEN the report's neutral rate and its
    macro F1 over positive and negative equal the same figures counted directly."""
    rows = [LabelledSentence(str(i), truth) for i, (truth, _) in enumerate(pairs)]
    predicted = {str(i): got for i, (_, got) in enumerate(pairs)}
    report = evaluate(rows, predicted.__getitem__)
    assert report.neutral_rate == pytest.approx(sum(got == "neutral" for _, got in pairs) / len(pairs))
    f1s = []
    for label in ("positive", "negative"):
        hits = sum(t == g == label for t, g in pairs)
        called, actual = sum(g == label for _, g in pairs), sum(t == label for t, _ in pairs)
        p, r = (hits / called if called else 0.0), (hits / actual if actual else 0.0)
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    assert report.macro_f1_of(("positive", "negative")) == pytest.approx(sum(f1s) / 2)
