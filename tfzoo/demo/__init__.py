"""The end-to-end demos: `tfzoo demo` (an encoder classifier from a real checkpoint to verified
SavedModel / TFLite / ONNX artifacts, `classifier.py`) and `tfzoo demo --decoder` (a chat decoder
to verified `.litertlm` bundles, `decoder.py`). Orchestration only, over the library.
"""

from tfzoo.demo.classifier import TEST_EXAMPLES, check_output_folder, run
from tfzoo.demo.decoder import DECODER_QUESTION, run_decoder

__all__ = ["DECODER_QUESTION", "TEST_EXAMPLES", "check_output_folder", "run", "run_decoder"]
