"""Fixtures for tfzoo.convert tests."""

import pytest

transformers = pytest.importorskip("transformers")


@pytest.fixture
def quiet_hf():
    """Silences `transformers` progress bars and load reports."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    yield
