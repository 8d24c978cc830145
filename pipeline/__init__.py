"""bert-edge: distill a BERT teacher, convert the student for phones, gate it on parity."""

__version__ = "0.1.0"
