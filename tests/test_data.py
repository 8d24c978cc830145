import json

import pytest

from pipeline.data import DEFAULT_LABELS, load_labeled, load_texts, resolve_labeled, resolve_unlabeled
from pipeline.data.default_data import DEFAULT_DIR, generate_all
from pipeline.errors import BertEdgeError


def w(tmp_path, name, content, mode="w"):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


def test_tsv_with_integer_labels(tmp_path):
    d = load_labeled(w(tmp_path, "a.tsv", "sentence\tlabel\ngood film\t1\nbad \"film\"\t0\n"))
    assert d.texts == ["good film", 'bad "film"'] and d.labels == [1, 0]
    assert d.label_names == ["0", "1"] and d.pairs is None


def test_csv_quoted_and_string_labels(tmp_path):
    d = load_labeled(w(tmp_path, "a.csv", 'text,label\n"fine, really",pos\nawful,neg\n'))
    assert d.texts == ["fine, really", "awful"]
    assert d.label_names == ["neg", "pos"] and d.labels == [1, 0]


def test_jsonl_and_named_label_set(tmp_path):
    p = w(tmp_path, "a.jsonl", '{"sentence": "ok", "label": "positive"}\n\n{"sentence": "no", "label": 0}\n')
    d = load_labeled(p, label_names=["negative", "positive"])
    assert d.labels == [1, 0]


def test_pair_tasks_detected(tmp_path):
    d = load_labeled(w(tmp_path, "p.tsv", "question\tsentence\tlabel\nwho?\tme.\t0\n"))
    assert d.texts == ["who?"] and d.pairs == ["me."]
    d = load_labeled(w(tmp_path, "q.tsv", "sentence1\tsentence2\tlabel\na\tb\t1\n"))
    assert d.pairs == ["b"]


def test_configurable_columns(tmp_path):
    d = load_labeled(w(tmp_path, "c.csv", "review,stars\nnice,5\nmeh,1\n"), text_column="review",
                     label_column="stars")
    assert d.label_names == ["0", "1", "2", "3", "4", "5"] and d.labels == [5, 1]


@pytest.mark.parametrize("name,content,pattern", [
    ("empty.tsv", "", r"empty.tsv: file is empty"),
    ("blank.tsv", "\n\n", r"blank.tsv: file is empty"),
    ("header.tsv", "sentence\tlabel\n", r"header.tsv: no data rows after the header"),
    ("nocol.tsv", "text2\tlabel\nx\t1\n", r"nocol.tsv: no text column found"),
    ("nolabel.tsv", "sentence\ty\nx\t1\n", r"nolabel.tsv: missing label column 'label'"),
    ("fields.tsv", "sentence\tlabel\nok\t1\nbroken line\n", r"fields.tsv:3: expected 2 TSV fields"),
    ("emptytext.tsv", "sentence\tlabel\nok\t1\n  \t0\n", r"emptytext.tsv:3: empty text in column 'sentence'"),
    ("emptylabel.tsv", "sentence\tlabel\nok\t\n", r"emptylabel.tsv:2: empty label"),
    ("bad.jsonl", '{"sentence": "a", "label": 1}\n{"sentence": \n', r"bad.jsonl:2: invalid JSON"),
    ("list.jsonl", '[1, 2]\n', r"list.jsonl:1: each JSONL line must be an object"),
    ("x.parquet", "a", r"cannot tell the format"),
])
def test_bad_files_name_file_line_reason(tmp_path, name, content, pattern):
    with pytest.raises(BertEdgeError, match=pattern):
        load_labeled(w(tmp_path, name, content))


def test_non_utf8_names_line(tmp_path):
    p = w(tmp_path, "latin1.tsv", "sentence\tlabel\nok\t1\n".encode() + "caf\xe9\t0\n".encode("latin-1"))
    with pytest.raises(BertEdgeError, match=r"latin1.tsv:3: not valid UTF-8 \(byte 0xe9 at column 4\)"):
        load_labeled(p)


def test_label_outside_label_set(tmp_path):
    p = w(tmp_path, "dev.tsv", "sentence\tlabel\nok\tpositive\nhm\tneutral\n")
    with pytest.raises(BertEdgeError, match=r"dev.tsv:3: label 'neutral' is not in the label set \(negative, positive\)"):
        load_labeled(p, label_names=["negative", "positive"])
    with pytest.raises(BertEdgeError, match=r"label '7' is not in the label set"):
        load_labeled(w(tmp_path, "d2.tsv", "sentence\tlabel\nok\t7\n"), label_names=["a", "b"])


def test_missing_file(tmp_path):
    with pytest.raises(BertEdgeError, match=r"nope.tsv: file not found"):
        load_labeled(tmp_path / "nope.tsv")


def test_bom_is_ignored(tmp_path):
    d = load_labeled(w(tmp_path, "bom.tsv", "\ufeffsentence\tlabel\nok\t1\n"))
    assert d.texts == ["ok"]


def test_embedded_default_matches_generator_and_is_balanced():
    expected = generate_all()
    for name, content in expected.items():
        assert (DEFAULT_DIR / name).read_text(encoding="utf-8") == content, f"{name} is stale: run python -m pipeline.data.default_data"
    train = resolve_labeled("default", "train")
    dev = resolve_labeled("default", "dev", label_names=train.label_names)
    assert train.label_names == DEFAULT_LABELS and len(train) == 4000 and len(dev) == 600
    assert 0.4 < sum(train.labels) / len(train) < 0.6
    assert not set(train.texts) & set(dev.texts)
    # Not trivial: negation and contrast are present, and a lexicon word alone does not decide the label.
    assert sum(" not " in t for t in train.texts) > 200 and sum(", but " in t for t in train.texts) > 200
    with_dull = [y for t, y in zip(train.texts, train.labels) if "dull" in t]
    assert 0 < sum(with_dull) < len(with_dull)
    assert len(resolve_unlabeled("default")) == 3000


def test_load_texts_any_format(tmp_path):
    assert load_texts(w(tmp_path, "u.txt", "one\n\ntwo\n")) == ["one", "two"]
    assert load_texts(w(tmp_path, "u.tsv", "sentence\tlabel\na\t1\n")) == ["a"]


def test_tokenize_dynamic_and_fixed_padding_truncates(tiny_bert_dir):
    from transformers import AutoTokenizer

    from pipeline.data.tokenize import TokenizedDataset, encode_fixed

    tok = AutoTokenizer.from_pretrained(str(tiny_bert_dir))
    long_text = "good " * 500
    fixed = encode_fixed(tok, ["good", long_text], max_length=16)
    assert fixed["input_ids"].shape == (2, 16) and str(fixed["input_ids"].dtype) == "int32"
    assert fixed["attention_mask"][0].sum() == 3 and fixed["attention_mask"][1].sum() == 16
    ds = TokenizedDataset(tok, ["good", "bad film", long_text], labels=[1, 0, 1], max_length=32)
    batch = ds.collate([ds[0], ds[1]])
    assert batch["input_ids"].shape == (2, 4)  # padded to the longest in the batch, not to 32
    assert ds.collate([ds[2]])["input_ids"].shape == (1, 32)
    assert batch["labels"].tolist() == [1, 0]


# WordNet 3.0 data-file lines (the format of Debian's wordnet-base): a license header indented by
# two spaces, then offset, lexfile, pos, word count in hex, word/lex_id pairs, pointers, | gloss
_WN_HEADER = "  1 This software and database is being provided to you, the LICENSEE\n"
_WN = {
    "data.noun": _WN_HEADER + "09359803 17 n 03 mountain_range 0 range 1 Range 0 001 @ 09287968 n 0000 | "
                              'a series of hills or mountains; "the valley was between two ranges of hills"  \n',
    "data.verb": _WN_HEADER + "01835496 38 v 01 travel 0 000 01 + 02 00 | change location; "
                              '"How fast does your new car go?"  \n',
    "data.adj": _WN_HEADER + "01382086 00 a 02 big(a) 0 large 0 000 | above average in size  \n",
    "data.adv": _WN_HEADER + "00002325 02 r 01 slowly 0 000 | without speed  \n",
}


def test_wordnet_glosses_are_one_passage_per_synset(tmp_path):
    for name, text in _WN.items():
        w(tmp_path, name, text)
    assert resolve_unlabeled(f"wordnet:{tmp_path}") == [
        "mountain range, range: a series of hills or mountains; the valley was between two ranges of hills",
        "travel: change location; How fast does your new car go?",
        "big, large: above average in size",  # the (a) position marker is not text
        "slowly: without speed",
    ]
    from pipeline.chain import data_hash

    before = data_hash(f"wordnet:{tmp_path}", "unlabeled")
    w(tmp_path, "data.adv", _WN_HEADER + "00002325 02 r 01 slowly 0 000 | with little speed  \n")
    assert data_hash(f"wordnet:{tmp_path}", "unlabeled") != before  # a changed corpus re-runs distill


@pytest.mark.parametrize("files, msg", [
    ({}, "data.noun not found (install Debian's wordnet-base"),
    ({**_WN, "data.verb": "this is not wordnet | at all\n"}, "data.verb line 1 is not a WordNet data line"),
])
def test_wordnet_bad_directories_give_one_line_errors(tmp_path, files, msg):
    for name, text in files.items():
        w(tmp_path, name, text)
    with pytest.raises(BertEdgeError, match=None) as e:
        resolve_unlabeled(f"wordnet:{tmp_path}")
    assert msg in str(e.value) and "\n" not in str(e.value)
