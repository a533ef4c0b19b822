"""Tokenizers that run inside `tf.data`: WordPiece (BERT) and byte-level BPE (GPT-2).

Load them from local Hugging Face directories or GGUF files (`tokenizer_from_pretrained`;
GGUF vocabularies become a `FastTokenizer` on Hugging Face's `tokenizers`), train them on a
corpus (`train_wordpiece`, `train_bpe`) or get GPT-2's offline (`gpt2_tokenizer`). Every
tokenizer has the interface of `tfzoo.text.Tokenizer`.
"""

from tfzoo.text.assets import minilm_path, smollm2_gguf_path
from tfzoo.text.byte_pair_tokenizer import BytePairTokenizer
from tfzoo.text.fast_tokenizer import FastTokenizer
from tfzoo.text.gguf_tokenizer import tokenizer_from_gguf
from tfzoo.text.gpt2 import gpt2_files, gpt2_tokenizer
from tfzoo.text.loading import tokenizer_from_pretrained
from tfzoo.text.tokenizer import Tokenizer
from tfzoo.text.training import train_bpe, train_wordpiece
from tfzoo.text.word_piece_tokenizer import WordPieceTokenizer

__all__ = [
    "BytePairTokenizer",
    "FastTokenizer",
    "Tokenizer",
    "WordPieceTokenizer",
    "gpt2_files",
    "gpt2_tokenizer",
    "minilm_path",
    "smollm2_gguf_path",
    "tokenizer_from_gguf",
    "tokenizer_from_pretrained",
    "train_bpe",
    "train_wordpiece",
]
