"""tfzoo.data: real text and images offline, and deterministic `tf.data` input pipelines."""

from tfzoo.data.bucketing import length_bucketed_batches
from tfzoo.data.csv_files import load_csv
from tfzoo.data.datasets import load_movie_reviews, load_news_articles, load_sms_spam
from tfzoo.data.images import ImageClassificationData, ImageSplit, load_digits
from tfzoo.data.pipelines import (
    causal_lm_dataset,
    classification_dataset,
    masked_lm_dataset,
)
from tfzoo.data.splits import TextClassificationData, TextSplit, normalize_text, split_of

__all__ = [
    "ImageClassificationData",
    "ImageSplit",
    "TextClassificationData",
    "TextSplit",
    "causal_lm_dataset",
    "classification_dataset",
    "length_bucketed_batches",
    "load_csv",
    "load_digits",
    "load_movie_reviews",
    "load_news_articles",
    "load_sms_spam",
    "masked_lm_dataset",
    "normalize_text",
    "split_of",
]
