"""Fixtures for tfzoo.convert tests."""

import pytest
import transformers  # noqa: E402  (test extra: a missing reference must fail, not skip)


@pytest.fixture
def quiet_hf():
    """Silences `transformers` progress bars and load reports."""
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    yield
