"""What a new user hits: >= 100 bad inputs and faults through tfzoo's public API and CLI.

Every case does one thing a new user does by mistake (a wrong size, a damaged checkpoint, a
float label, an existing output, a typo in a model name, ...) and is judged automatically:

- GOOD: an error of an expected type whose message names the problem (checked by keywords per
  case), in one line (at most 3 for a message carrying a command), and nothing written or lost;
  for the CLI: exit code 2 and one line `tfzoo <command>: error: ...` on stderr.
- POOR: an error, but unclear (keywords missing, an unexpected type such as `TypeError` or
  `ZeroDivisionError`, a long trace, a wrong exit code).
- BAD: silently accepted, a wrong result, a crash, or a file changed/created/removed.

A few cases are checks of behaviour that must work (the multi-device idiom, QAT int8 op counts,
stale temporary folders): GOOD when it works, BAD when it fails or gives a wrong result.

Library cases run in this process (fast); CLI cases run as subprocesses, most of them grouped
in one driver process that calls `tfzoo.cli.main` once per case (one TensorFlow import), a few
as separate `tfzoo` commands. Results: a table on stdout and
`benchmarks/results/probe_new_user.json`.

    PYTHONPATH=. python benchmarks/probe_new_user.py              # all cases (~5-10 min, 2 cores)
    PYTHONPATH=. python benchmarks/probe_new_user.py --only topk   # cases whose name matches
    PYTHONPATH=. python benchmarks/probe_new_user.py --list        # names only
"""

import argparse
import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

GOOD, POOR, BAD = "GOOD", "POOR", "BAD"
RESULTS = os.path.join(ROOT, "benchmarks", "results", "probe_new_user.json")
MAX_LINES = 3  # a message may carry a command on its own line ("Convert it with\n  python ...")

# Tiny models: fast to build, fit and export.
VOCAB, MAX_LEN = 100, 32
TINY = dict(
    num_layers=1,
    hidden_dim=16,
    num_heads=2,
    intermediate_dim=32,
    vocabulary_size=VOCAB,
    max_sequence_length=MAX_LEN,
)


@dataclasses.dataclass
class Case:
    """One new-user mistake.

    `action(ctx, folder)` does it inside `folder` (a fresh directory per case, prepared by
    `setup(ctx, folder)`). For `kind="error"` the action must raise an error whose type name is
    in `errors` and whose message holds every keyword (`"a|b"`: either; case-insensitive). For
    `kind="check"` the action returns `(verdict, what happened)` itself. `item` is the number
    of the item of issue 12 the case comes from.
    """

    name: str
    group: str
    expected: str
    action: object = None
    keywords: tuple = ()
    errors: tuple = ("ValueError",)
    setup: object = None
    kind: str = "error"
    item: int | None = None
    one_line: bool = True
    argv: list | None = None  # CLI cases
    separate: bool = False  # CLI: run as its own `tfzoo` process (else in the grouped driver)


# --- helpers -----------------------------------------------------------------------------------


def _lines(text):
    return [line.strip() for line in str(text).strip().splitlines() if line.strip()]


def _missing(text, keywords):
    low = str(text).lower()
    return [k for k in keywords if not any(a.lower() in low for a in k.split("|"))]


def _snapshot(folder):
    out = {}
    for base, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, folder)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    out[rel] = f.read()
            else:
                out[rel] = None
    return out


def _changes(before, after):
    created = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
    parts = []
    for label, names in (("created", created), ("removed", removed), ("changed", changed)):
        if names:
            parts.append(f"{label} {names[:3]}")
    return "; ".join(parts)


_GENERIC = ("Graph execution error", "Exception encountered when calling")


def _description(error):
    """The lines of an error that describe it: TensorFlow's graph stack frames left out.

    An in-graph failure reads "Graph execution error:", then "Detected at node ...", the
    Python frames (indented), and only then the op's own message: words in the frames (file
    and layer names) must not count as a message that names the problem.
    """
    text = str(error)
    graph = "Detected at node" in text or text.startswith(_GENERIC)
    lines = []
    for line in text.splitlines():
        if not line.strip() or (graph and (line[:1].isspace() or line.startswith("Detected"))):
            continue
        lines.append(line.strip())
    return lines or [type(error).__name__]


def _summary(error):
    """`Type: first line`, plus the first telling line when the first one is generic."""
    lines = _description(error)
    text = f"{type(error).__name__}: {lines[0]}"
    if lines[0].startswith(_GENERIC) and len(lines) > 1:
        text += " " + next((x for x in lines[1:] if not x.startswith(_GENERIC)), lines[1])
    return text


def judge_error(case, error, changes):
    """Verdict of a library case that raised `error` (or `None`)."""
    if error is None:
        return BAD, "no error: silently accepted"
    message = str(error)
    lines = _lines(message) or [type(error).__name__]
    happened = _summary(error)
    if changes:
        return BAD, f"{happened} [files {changes}]"
    names = {cls.__name__ for cls in type(error).__mro__}
    if not names & set(case.errors):
        return POOR, f"{happened} [unexpected {type(error).__name__}]"
    missing = _missing(" ".join(_description(error)), case.keywords)
    if missing:
        return POOR, f"{happened} [message lacks {missing}]"
    if case.one_line and len(lines) > MAX_LINES:
        return POOR, f"{happened} [{len(lines)} lines]"
    return GOOD, happened


def judge_cli(case, rc, stderr, changes):
    """Verdict of a CLI case: exit code 2 and one line `tfzoo <command>: error: ...`."""
    lines = _lines(stderr)
    first = lines[0] if lines else "(no stderr)"
    error_lines = [x for x in lines if x.startswith("tfzoo ") and ": error: " in x]
    shown = error_lines[0] if error_lines else (lines[-1] if lines else "(no stderr)")
    happened = f"exit {rc}: {shown}"
    if changes:
        return BAD, f"{happened} [files {changes}]"
    if rc == 0:
        return BAD, f"exit 0: accepted ({first})"
    if rc is None or rc < 0 or rc > 2:
        return BAD, f"crashed (exit {rc}): {shown}"
    if "Traceback" in stderr:
        return POOR, f"exit {rc}, a traceback of {len(lines)} lines: {lines[-1]}"
    if rc != 2:
        return POOR, f"{happened} [exit {rc}, expected 2]"
    # argparse names the sub-command it failed in ("tfzoo: error: invalid choice ...").
    prefixes = (f"tfzoo {case.argv[0]}: error: ", "tfzoo: error: ")
    if len(lines) != 1 or not lines[0].startswith(prefixes):
        return POOR, f"{happened} [{len(lines)} stderr lines]"
    missing = _missing(lines[0], case.keywords)
    if missing:
        return POOR, f"{happened} [message lacks {missing}]"
    return GOOD, happened


# --- shared fixtures (built once, lazily) ------------------------------------------------------


class Context:
    def __init__(self, root):
        self.root = root
        self._cache = {}

    def _get(self, key, make):
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def classifier(self):
        """A compiled tiny BERT classifier (2 classes)."""

        def make():
            import keras

            import tfzoo

            model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
            model.compile(
                optimizer="adam",
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            )
            return model

        return self._get("classifier", make)

    @property
    def backbone(self):
        import tfzoo

        return self._get("backbone", lambda: tfzoo.build("bert-tiny", **TINY))

    @property
    def causal_lm(self):
        import tfzoo

        return self._get("causal_lm", lambda: tfzoo.build("gpt2", task="causal_lm", **TINY))

    @property
    def checkpoint(self):
        """A Hugging Face directory (BertModel) written by `tfzoo.save_pretrained`."""

        def make():
            import tfzoo

            path = os.path.join(self.root, "fixtures", "bert-hf")
            tfzoo.save_pretrained(self.backbone, path)
            shutil.copy(os.path.join(self.minilm, "vocab.txt"), path)
            return path

        return self._get("checkpoint", make)

    @property
    def minilm(self):
        from tfzoo.text import minilm_path

        return self._get("minilm", minilm_path)

    @property
    def tokenizer(self):
        from tfzoo.text import tokenizer_from_pretrained

        return self._get("tokenizer", lambda: tokenizer_from_pretrained(self.minilm))

    @property
    def keras_file(self):
        """A fresh tiny classifier saved as .keras (for the CLI)."""

        def make():
            import tfzoo

            path = os.path.join(self.root, "fixtures", "clf.keras")
            tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY).save(path)
            return path

        return self._get("keras_file", make)


def inputs(batch=2, seq=8, token=5, segment=0, dtype="int32"):
    import numpy as np

    return {
        "token_ids": np.full((batch, seq), token, dtype),
        "padding_mask": np.ones((batch, seq), "int32"),
        "segment_ids": np.full((batch, seq), segment, "int32"),
    }


def _copy_checkpoint(ctx, folder):
    shutil.copytree(ctx.checkpoint, os.path.join(folder, "ckpt"))


def _edit_config(folder, **changes):
    path = os.path.join(folder, "ckpt", "config.json")
    with open(path) as f:
        config = json.load(f)
    config.update(changes)
    with open(path, "w") as f:
        json.dump(config, f)


def _overwrite_payload(folder, tensor, data):
    file = os.path.join(folder, "ckpt", "model.safetensors")
    with open(file, "rb") as f:
        raw = bytearray(f.read())
    header = int.from_bytes(raw[:8], "little")
    begin = json.loads(raw[8 : 8 + header])[tensor]["data_offsets"][0] + 8 + header
    raw[begin : begin + len(data)] = data
    with open(file, "wb") as f:
        f.write(bytes(raw))


def _write(folder, name, content):
    path = os.path.join(folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)
    return path


def _unwritable():
    """A folder where even root cannot create a file."""
    for folder in ("/proc", "/sys"):
        try:
            handle, probe = tempfile.mkstemp(dir=folder)
        except OSError:
            return folder
        os.close(handle)
        os.remove(probe)
    return "/proc"


# --- library cases -----------------------------------------------------------------------------


def build_cases():
    import numpy as np

    def tfzoo():
        import tfzoo as module

        return module

    cases = []

    def add(name, group, expected, action, keywords=(), **kw):
        cases.append(Case(name, group, expected, action, tuple(keywords), **kw))

    # Building models: sizes, names, tasks, types.
    def build(**overrides):
        base = dict(TINY)
        base.update(overrides)
        return lambda ctx, d: tfzoo().build("bert-tiny", **base)

    for key, value, item in [
        ("num_heads", 0, 7),
        ("num_layers", 0, 7),
        ("vocabulary_size", 0, 7),
        ("max_sequence_length", 0, 7),
        ("hidden_dim", -16, 7),
        ("intermediate_dim", 0, None),
        ("num_heads", -2, None),
    ]:
        add(
            f"build_{key}={value}",
            "build",
            f"ValueError naming {key}={value}",
            build(**{key: value}),
            [key, str(value)],
            item=item,
        )
    add(
        "build_hidden_not_divisible_by_heads",
        "build",
        "ValueError: 30 not divisible by 4",
        build(hidden_dim=30, num_heads=4),
        ["divisible", "30", "4"],
    )
    add(
        "build_hidden_dim_string",
        "build",
        "error naming hidden_dim='abc'",
        build(hidden_dim="abc"),
        ["hidden_dim", "abc"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "build_num_layers_float",
        "build",
        "error naming num_layers=2.5",
        build(num_layers=2.5),
        ["num_layers", "2.5"],
        errors=("ValueError", "TypeError"),
    )
    add("build_dropout_1.5", "build", "ValueError naming dropout", build(dropout=1.5), ["dropout"])
    add(
        "build_dropout_negative",
        "build",
        "ValueError naming dropout",
        build(dropout=-0.1),
        ["dropout"],
    )
    add(
        "build_unknown_activation",
        "build",
        "ValueError naming it",
        build(activation="swishy"),
        ["swishy"],
    )
    add(
        "build_bad_dtype", "build", "ValueError naming float17", build(dtype="float17"), ["float17"]
    )
    add(
        "build_unknown_name_suggests",
        "build",
        "ValueError suggesting bert-tiny",
        lambda ctx, d: tfzoo().build("bert-tinny"),
        ["bert-tinny", "did you mean", "bert-tiny"],
    )
    add(
        "build_hf_style_name",
        "build",
        "ValueError naming the name and list_models",
        lambda ctx, d: tfzoo().build("bert-base-uncased"),
        ["bert-base-uncased", "list_models"],
    )
    add(
        "build_unknown_override",
        "build",
        "ValueError naming num_layer and the valid keys",
        lambda ctx, d: tfzoo().build("bert-tiny", num_layer=2),
        ["num_layer", "num_layers"],
    )
    add(
        "build_unknown_task",
        "build",
        "ValueError listing tasks",
        lambda ctx, d: tfzoo().build("bert-tiny", task="summarization"),
        ["summarization", "classification"],
    )
    add(
        "build_gpt_classification",
        "build",
        "ValueError: gpt has causal_lm only",
        lambda ctx, d: tfzoo().build("gpt2", task="classification", **TINY),
        ["classification", "causal_lm"],
    )
    add(
        "build_classifier_without_num_classes",
        "build",
        "ValueError asking for num_classes",
        lambda ctx, d: tfzoo().build("bert-tiny", task="classification", **TINY),
        ["num_classes"],
    )
    add(
        "build_num_classes_0",
        "build",
        "ValueError naming num_classes=0",
        lambda ctx, d: tfzoo().build("bert-tiny", task="classification", num_classes=0, **TINY),
        ["num_classes", "0"],
    )
    add(
        "list_models_unknown_family",
        "build",
        "ValueError listing families",
        lambda ctx, d: tfzoo().list_models("bret"),
        ["bret", "bert"],
    )
    add(
        "get_config_unknown_name",
        "build",
        "ValueError naming it",
        lambda ctx, d: tfzoo().get_config("gpt-5"),
        ["gpt-5"],
    )
    add(
        "strategy_unknown_kind",
        "build",
        "ValueError naming mirrord",
        lambda ctx, d: tfzoo().train.strategy("mirrord"),
        ["mirrord"],
    )

    # Model inputs: predict / call / fit.
    in_graph = ("ValueError", "InvalidArgumentError")

    def fit(x, y, dataset=False):
        def run(ctx, d):
            model = ctx.classifier
            if dataset:
                import tensorflow as tf

                data = tf.data.Dataset.from_tensor_slices((x, y)).batch(2)
                return model.fit(data, epochs=1, verbose=0)
            return model.fit(x, np.asarray(y), epochs=1, batch_size=2, verbose=0)

        return run

    def predict(x):
        return lambda ctx, d: ctx.classifier.predict(x, verbose=0)

    add(
        "fit_empty_arrays",
        "inputs",
        "ValueError: no examples",
        fit(inputs(batch=0), np.zeros((0,), "int32")),
        ["empty|no examples|0 examples|zero"],
        item=4,
    )
    add(
        "fit_float_labels",
        "inputs",
        "ValueError: labels must be integers",
        fit(inputs(batch=2), np.array([0.3, 1.7], "float32")),
        ["label", "int"],
        item=4,
    )
    add(
        "fit_label_out_of_range",
        "inputs",
        "error naming label 5 and num_classes=2",
        fit(inputs(batch=2), np.array([0, 5], "int32")),
        ["label", "range|num_classes"],
        errors=in_graph,
        one_line=False,
        item=6,
    )
    add(
        "fit_negative_label",
        "inputs",
        "error naming label -3",
        fit(inputs(batch=2), np.array([0, -3], "int32")),
        ["label"],
        errors=in_graph,
        one_line=False,
    )
    add(
        "fit_oov_token_ids_in_graph",
        "inputs",
        "error naming vocabulary_size",
        fit(inputs(token=VOCAB + 50), np.array([0, 1], "int32"), dataset=True),
        ["vocabulary"],
        errors=in_graph,
        one_line=False,
        item=6,
    )
    add(
        "fit_sequence_too_long",
        "inputs",
        "error naming max_sequence_length",
        fit(inputs(seq=MAX_LEN + 8), np.array([0, 1], "int32"), dataset=True),
        ["max_sequence_length"],
        errors=in_graph,
        one_line=False,
        item=6,
    )
    add(
        "fit_segment_id_out_of_range",
        "inputs",
        "error naming segment_ids",
        fit(inputs(segment=2), np.array([0, 1], "int32"), dataset=True),
        ["segment"],
        errors=in_graph,
        one_line=False,
        item=6,
    )
    add(
        "fit_x_y_length_mismatch",
        "inputs",
        "ValueError about sizes",
        fit(inputs(batch=4), np.array([0, 1], "int32")),
        ["size|cardinality|length"],
    )
    add(
        "predict_oov_token_ids",
        "inputs",
        "error naming vocabulary_size",
        predict(inputs(token=VOCAB)),
        ["vocabulary"],
        errors=in_graph,
        one_line=False,
    )
    add(
        "predict_negative_token_ids",
        "inputs",
        "error naming token ids",
        predict(inputs(token=-1)),
        ["token|vocabulary"],
        errors=in_graph,
        one_line=False,
    )
    add(
        "predict_sequence_too_long",
        "inputs",
        "error naming max_sequence_length",
        predict(inputs(seq=MAX_LEN + 1)),
        ["max_sequence_length"],
        errors=in_graph,
        one_line=False,
        item=6,
    )
    add(
        "predict_batch_0",
        "inputs",
        "ValueError: empty batch",
        predict(inputs(batch=0)),
        ["empty|batch|0"],
        item=9,
    )
    add(
        "predict_sequence_0",
        "inputs",
        "ValueError: empty sequence",
        predict(inputs(seq=0)),
        ["empty|sequence|length"],
        errors=in_graph,
        item=9,
    )
    add(
        "predict_fractional_float_ids",
        "inputs",
        "error: token_ids must be integers",
        predict({**inputs(), "token_ids": np.full((2, 8), 1.5, "float32")}),
        ["int"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "predict_string_ids",
        "inputs",
        "error: token_ids must be integers (tokenize first)",
        predict({**inputs(), "token_ids": np.full((2, 8), "hello")}),
        ["token_ids|int|token"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "predict_hf_input_names",
        "inputs",
        "error naming token_ids (input_ids is the HF name)",
        predict({"input_ids": inputs()["token_ids"], "attention_mask": inputs()["padding_mask"]}),
        ["token_ids"],
        errors=("ValueError", "KeyError"),
    )
    add(
        "predict_1d_token_ids",
        "inputs",
        "error about the missing batch axis",
        predict({k: v[0] for k, v in inputs().items()}),
        ["rank|batch axis|2-d|2d|(batch"],
    )

    # generate.
    def generate(**kw):
        args = dict(max_new_tokens=4, sampler="top_p", jit_compile=False)
        args.update(kw)
        prompt = args.pop("prompt", np.array([[1, 2, 3]], "int32"))
        return lambda ctx, d: ctx.causal_lm.generate(prompt, **args)

    for name, kw, key, item in [
        ("generate_top_p_1.5", dict(top_p=1.5), "top_p", 9),
        ("generate_top_p_0", dict(top_p=0.0), "top_p", 9),
        ("generate_top_k_0", dict(sampler="top_k", top_k=0), "top_k", 9),
        ("generate_temperature_0", dict(sampler="random", temperature=0.0), "temperature", None),
        ("generate_max_new_tokens_negative", dict(max_new_tokens=-1), "max_new_tokens", None),
        ("generate_unknown_sampler", dict(sampler="beam"), "beam", None),
    ]:
        add(name, "generate", f"ValueError naming {key}", generate(**kw), [key], item=item)
    add(
        "generate_past_max_sequence_length",
        "generate",
        "ValueError naming max_sequence_length",
        generate(max_new_tokens=MAX_LEN + 10),
        ["max_sequence_length"],
    )
    add(
        "generate_empty_prompt",
        "generate",
        "ValueError: empty prompt",
        generate(prompt=np.zeros((1, 0), "int32")),
        ["empty|prompt|length"],
        item=9,
    )
    add(
        "generate_batch_0",
        "generate",
        "ValueError: empty batch",
        generate(prompt=np.zeros((0, 3), "int32")),
        ["empty|batch"],
        item=9,
    )
    add(
        "generate_prompt_oov",
        "generate",
        "error naming vocabulary_size",
        generate(prompt=np.array([[1, VOCAB + 5]], "int32")),
        ["vocabulary|[0, 100)"],
        errors=in_graph,
        one_line=False,
    )

    # Export (library).
    def export(path, **kw):
        def run(ctx, d):
            target = path if os.path.isabs(path) else os.path.join(d, path)
            kw.setdefault("print_report", False)
            return tfzoo().export(kw.pop("model", None) or ctx.classifier, target, **kw)

        return run

    add(
        "export_extension_format_mismatch",
        "export",
        "ValueError naming .onnx and tflite",
        export("m.onnx", format="tflite"),
        ["onnx", "tflite"],
        item=3,
    )
    add(
        "export_unknown_extension",
        "export",
        "ValueError naming .pt and the formats",
        export("m.pt"),
        [".pt|pt", "tflite"],
    )
    add(
        "export_existing_file",
        "export",
        "ValueError: exists, pass overwrite",
        export("m.tflite"),
        ["exists", "overwrite"],
        setup=lambda ctx, d: _write(d, "m.tflite", b"an earlier export"),
    )
    add(
        "export_unknown_quantize",
        "export",
        "ValueError listing modes",
        export("m.tflite", quantize="int4"),
        ["int4", "dynamic"],
    )
    add(
        "export_int8_without_data",
        "export",
        "ValueError asking for representative_data",
        export("m.tflite", quantize="int8"),
        ["representative_data"],
    )
    add(
        "export_empty_representative_data",
        "export",
        "ValueError: empty",
        export("m.tflite", quantize="int8", representative_data=[]),
        ["empty"],
    )
    add(
        "export_sequence_length_0",
        "export",
        "ValueError naming sequence_length",
        export("m.tflite", sequence_length=0),
        ["sequence_length"],
    )
    add(
        "export_sequence_length_too_long",
        "export",
        "ValueError naming max_sequence_length",
        export("m.tflite", sequence_length=MAX_LEN + 8),
        ["max_sequence_length|32"],
    )
    add(
        "export_quantize_onnx",
        "export",
        "ValueError: quantize is for TFLite",
        export("m.onnx", quantize="dynamic"),
        ["tflite"],
    )
    add(
        "export_path_string_as_model",
        "export",
        "error: pass a keras.Model (load the .keras file first)",
        lambda ctx, d: tfzoo().export("clf.keras", os.path.join(d, "m.tflite")),
        ["model|keras"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "export_unwritable_target",
        "export",
        "error: not writable",
        lambda ctx, d: tfzoo().export(
            ctx.classifier,
            os.path.join(_unwritable(), "tfzoo-probe", "m.tflite"),
            print_report=False,
        ),
        ["writ|permission|read-only"],
        errors=("ValueError", "OSError"),
        item=10,
    )
    add(
        "export_stale_tmp_dirs",
        "export",
        "a stale .tmp folder of a killed export is removed or reported",
        _stale_tmp,
        kind="check",
        item=10,
    )
    add(
        "export_qat_int8_op_counts",
        "export",
        "QAT tiny BERT -> int8 TFLite: every FULLY_CONNECTED int8, report counts = file",
        _qat_int8,
        kind="check",
        item=2,
    )

    # Checkpoints.
    def load(task=None, sub="ckpt", **kw):
        return lambda ctx, d: tfzoo().from_pretrained(os.path.join(d, sub), task=task, **kw)

    def ckpt_case(name, expected, setup, keywords, item=None, **kw):
        def prepare(ctx, d):
            _copy_checkpoint(ctx, d)
            setup(ctx, d)

        add(name, "checkpoint", expected, load(**kw), keywords, setup=prepare, item=item)

    q = "encoder.layer.0.attention.self.query.weight"
    ckpt_case(
        "ckpt_corrupted_bytes_huge",
        "ValueError naming the tensor, 'corrupted'",
        lambda ctx, d: _overwrite_payload(d, q, b"\x7f" * 32),
        [q, "corrupt"],
        item=5,
    )
    ckpt_case(
        "ckpt_corrupted_bytes_nan",
        "ValueError naming the tensor, 'corrupted'",
        lambda ctx, d: _overwrite_payload(d, q, b"\xff" * 32),
        [q, "corrupt"],
        item=5,
    )
    ckpt_case(
        "ckpt_roberta_model_type_with_bert_architecture",
        "ValueError naming roberta, BertModel and the supported types",
        lambda ctx, d: _edit_config(d, model_type="roberta"),
        ["roberta", "BertModel", "gpt2"],
        item=11,
    )
    ckpt_case(
        "ckpt_unsupported_architecture",
        "ValueError naming it and the supported ones",
        lambda ctx, d: _edit_config(
            d, architectures=["T5ForConditionalGeneration"], model_type="t5"
        ),
        ["T5ForConditionalGeneration", "BertModel"],
    )
    ckpt_case(
        "ckpt_vocab_size_mismatch",
        "ValueError with both numbers",
        lambda ctx, d: _edit_config(d, vocab_size=VOCAB + 1),
        [str(VOCAB + 1), str(VOCAB)],
    )
    ckpt_case(
        "ckpt_shape_mismatch",
        "ValueError naming the tensor and shapes",
        lambda ctx, d: _edit_config(d, intermediate_size=48),
        ["intermediate.dense", "48"],
    )
    ckpt_case(
        "ckpt_config_missing_key",
        "ValueError naming num_hidden_layers",
        lambda ctx, d: _rewrite_config(d, drop="num_hidden_layers"),
        ["num_hidden_layers"],
    )
    ckpt_case(
        "ckpt_config_invalid_json",
        "ValueError: not valid JSON",
        lambda ctx, d: _write(d, "ckpt/config.json", "{not json"),
        ["json"],
    )
    ckpt_case(
        "ckpt_no_config",
        "ValueError: no config.json",
        lambda ctx, d: os.remove(os.path.join(d, "ckpt", "config.json")),
        ["config.json"],
    )
    ckpt_case(
        "ckpt_no_weights",
        "ValueError naming model.safetensors",
        lambda ctx, d: os.remove(os.path.join(d, "ckpt", "model.safetensors")),
        ["model.safetensors"],
    )
    ckpt_case(
        "ckpt_pickle_only",
        "ValueError: pickles refused, conversion command",
        lambda ctx, d: (
            os.remove(os.path.join(d, "ckpt", "model.safetensors")),
            _write(d, "ckpt/pytorch_model.bin", b"never unpickled"),
        ),
        ["pytorch_model.bin", "safe_serialization"],
    )
    ckpt_case(
        "ckpt_missing_tensor",
        "ValueError naming the tensor",
        lambda ctx, d: _drop_tensor(d, "encoder.layer.0.attention.self.key.bias"),
        ["encoder.layer.0.attention.self.key.bias"],
    )
    ckpt_case(
        "ckpt_truncated_file",
        "ValueError: cannot read the file",
        lambda ctx, d: _truncate(os.path.join(d, "ckpt", "model.safetensors")),
        ["model.safetensors"],
    )
    ckpt_case(
        "ckpt_empty_weights_file",
        "ValueError: cannot read the file",
        lambda ctx, d: _write(d, "ckpt/model.safetensors", b""),
        ["model.safetensors"],
    )
    ckpt_case(
        "ckpt_shard_index_missing_shard",
        "ValueError naming the missing shard",
        lambda ctx, d: (
            os.rename(
                os.path.join(d, "ckpt", "model.safetensors"),
                os.path.join(d, "ckpt", "model-00001-of-00002.safetensors"),
            ),
            _write(
                d,
                "ckpt/model.safetensors.index.json",
                json.dumps({"weight_map": {q: "model-00002-of-00002.safetensors"}}),
            ),
        ),
        ["model-00002-of-00002.safetensors"],
    )
    ckpt_case(
        "ckpt_unknown_task",
        "ValueError listing BERT tasks",
        lambda ctx, d: None,
        ["causal_lm", "masked_lm"],
        task="causal_lm",
    )
    add(
        "ckpt_directory_missing",
        "checkpoint",
        "ValueError: does not exist",
        load(sub="nope"),
        ["does not exist"],
    )
    add(
        "ckpt_path_is_a_file",
        "checkpoint",
        "ValueError: a file, not a directory",
        load(sub="weights.safetensors"),
        ["not a directory"],
        setup=lambda ctx, d: _write(d, "weights.safetensors", b"x"),
    )
    add(
        "ckpt_hub_id_instead_of_path",
        "checkpoint",
        "ValueError: local directory, never downloads",
        lambda ctx, d: tfzoo().from_pretrained("bert-base-uncased"),
        ["local", "download"],
    )
    add(
        "load_pretrained_without_tokenizer",
        "checkpoint",
        "ValueError naming the tokenizer files",
        lambda ctx, d: tfzoo().load_pretrained(os.path.join(d, "ckpt")),
        ["vocab.txt|tokenizer.json"],
        setup=lambda ctx, d: (
            _copy_checkpoint(ctx, d),
            os.remove(os.path.join(d, "ckpt", "vocab.txt")),
        ),
    )
    add(
        "save_pretrained_existing_dir",
        "checkpoint",
        "ValueError: exists, pass overwrite",
        lambda ctx, d: tfzoo().save_pretrained(ctx.backbone, os.path.join(d, "out")),
        ["exists", "overwrite"],
        setup=lambda ctx, d: _write(d, "out/notes.txt", "keep me"),
    )
    add(
        "save_pretrained_onto_a_file",
        "checkpoint",
        "ValueError: is a file",
        lambda ctx, d: tfzoo().save_pretrained(ctx.backbone, os.path.join(d, "out")),
        ["file"],
        setup=lambda ctx, d: _write(d, "out", "keep me"),
    )
    add(
        "save_pretrained_not_a_tfzoo_model",
        "checkpoint",
        "ValueError naming the class",
        lambda ctx, d: tfzoo().save_pretrained(_plain_keras_model(), os.path.join(d, "out")),
        ["Sequential|Functional", "BERT"],
    )
    add(
        "save_pretrained_unwritable",
        "checkpoint",
        "error: cannot write there",
        lambda ctx, d: tfzoo().save_pretrained(
            ctx.backbone, os.path.join(_unwritable(), "tfzoo-probe")
        ),
        ["writ|permission|read-only"],
        errors=("ValueError", "OSError"),
    )

    # Tokenizers.
    text = lambda: tfzoo().text  # noqa: E731

    add(
        "tokenizer_dir_without_files",
        "tokenizer",
        "ValueError naming vocab.txt",
        lambda ctx, d: text().tokenizer_from_pretrained(d),
        ["vocab.txt"],
    )
    add(
        "tokenizer_dir_missing",
        "tokenizer",
        "ValueError: does not exist",
        lambda ctx, d: text().tokenizer_from_pretrained(os.path.join(d, "nope")),
        ["does not exist"],
    )
    add(
        "wordpiece_empty_vocabulary",
        "tokenizer",
        "ValueError: empty",
        lambda ctx, d: text().WordPieceTokenizer(vocabulary=[]),
        ["empty|vocabulary"],
    )
    add(
        "wordpiece_vocabulary_without_unk",
        "tokenizer",
        "ValueError naming [UNK]",
        lambda ctx, d: text().WordPieceTokenizer(vocabulary=["[PAD]", "hello", "world"]),
        ["[UNK]"],
    )
    add(
        "tokenizer_sequence_length_0",
        "tokenizer",
        "ValueError naming sequence_length",
        lambda ctx, d: ctx.tokenizer(["a film"], sequence_length=0),
        ["sequence_length"],
    )
    add(
        "tokenizer_called_on_ints",
        "tokenizer",
        "error: strings expected",
        lambda ctx, d: ctx.tokenizer([1, 2, 3]),
        ["str|text"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "tokenizer_id_to_token_out_of_range",
        "tokenizer",
        "error naming the id and the vocabulary size",
        lambda ctx, d: ctx.tokenizer.id_to_token(10**6),
        ["1000000", "vocabulary|30521|30522"],
        errors=("ValueError", "IndexError", "KeyError"),
    )
    add(
        "train_wordpiece_no_texts",
        "tokenizer",
        "ValueError: empty",
        lambda ctx, d: text().train_wordpiece([], vocabulary_size=100, directory=d + "/wp"),
        ["empty|text"],
    )
    add(
        "train_wordpiece_size_too_small",
        "tokenizer",
        "ValueError naming vocabulary_size",
        lambda ctx, d: text().train_wordpiece(["a b c"], vocabulary_size=2, directory=d + "/wp"),
        ["vocabulary_size"],
    )
    add(
        "train_bpe_size_below_bytes",
        "tokenizer",
        "ValueError naming vocabulary_size",
        lambda ctx, d: text().train_bpe(["abc"], vocabulary_size=10, directory=d + "/bpe"),
        ["vocabulary_size"],
    )

    # Data.
    data = lambda: tfzoo().data  # noqa: E731

    def csv_case(name, content, keywords, **kw):
        add(
            name,
            "data",
            f"ValueError naming {keywords[0]}",
            lambda ctx, d: data().load_csv(os.path.join(d, "data.csv"), **kw),
            keywords,
            setup=lambda ctx, d: _write(d, "data.csv", content),
        )

    csv_case("csv_missing_text_column", b"review,stars\ngood,1\n", ["'text'", "review"])
    csv_case("csv_not_utf8", b"text,label\ncaf\xe9,1\n", ["UTF-8", "line 2"])
    csv_case("csv_text_labels", b"text,label\ngood film,positive\n", ["positive", "integer"])
    csv_case("csv_empty_text", b"text,label\ngood,1\n  ,0\n", ["empty"])
    csv_case("csv_empty_file", b"", ["empty|header|column"])
    csv_case("csv_header_only", b"text,label\n", ["no rows|empty|no data|no example"])
    csv_case("csv_semicolons", b"text;label\ngood;1\n", ["'text'", "delimiter|;"])
    add(
        "csv_missing_file",
        "data",
        "ValueError: not found",
        lambda ctx, d: data().load_csv(os.path.join(d, "nope.csv")),
        ["not found|does not exist|no such"],
        errors=("ValueError", "FileNotFoundError"),
    )

    def pipeline(fn, **kw):
        def run(ctx, d):
            texts = ["a good film", "a bad film", "fine"]
            args = dict(tokenizer=ctx.tokenizer, sequence_length=8, batch_size=2)
            args.update(kw)
            if fn == "classification_dataset":
                args.setdefault("labels", [0, 1, 0])
            ds = getattr(data(), fn)(args.pop("texts", texts), **args)
            return list(ds.take(1))

        return run

    add(
        "classification_dataset_batch_size_0",
        "data",
        "ValueError naming batch_size",
        pipeline("classification_dataset", batch_size=0),
        ["batch_size"],
    )
    add(
        "classification_dataset_sequence_length_0",
        "data",
        "ValueError naming sequence_length",
        pipeline("classification_dataset", sequence_length=0),
        ["sequence_length"],
    )
    add(
        "classification_dataset_labels_length",
        "data",
        "ValueError: 3 texts, 2 labels",
        pipeline("classification_dataset", labels=[0, 1]),
        ["label", "3|2"],
    )
    add(
        "classification_dataset_label_beyond_num_classes",
        "data",
        "ValueError naming the label and num_classes",
        pipeline("classification_dataset", labels=[0, 1, 7], num_classes=2),
        ["7", "num_classes"],
    )
    add(
        "classification_dataset_one_string",
        "data",
        "ValueError: a list of strings, not one string",
        pipeline("classification_dataset", texts="a good film", labels=[1]),
        ["one string"],
    )
    add(
        "masked_lm_dataset_mask_rate_1.5",
        "data",
        "ValueError naming mask_rate",
        pipeline("masked_lm_dataset", mask_rate=1.5),
        ["mask_rate"],
    )
    add(
        "causal_lm_dataset_sequence_length_0",
        "data",
        "ValueError naming sequence_length",
        pipeline("causal_lm_dataset", sequence_length=0),
        ["sequence_length"],
    )

    # Compression.
    compress = lambda: tfzoo().compress  # noqa: E731
    for name, kw, key in [
        ("sparsity_1.5", dict(target_sparsity=1.5, begin_step=0), "sparsity"),
        ("sparsity_negative", dict(target_sparsity=-0.1, begin_step=0), "sparsity"),
        ("frequency_0", dict(target_sparsity=0.5, begin_step=0, frequency=0), "frequency"),
    ]:
        add(
            f"constant_{name}",
            "compress",
            f"ValueError naming {key}",
            lambda ctx, d, kw=kw: compress().ConstantSparsity(**kw),
            [key],
        )
    for name, kw, key in [
        ("heads_1.0", dict(heads_fraction=1.0), "heads"),
        ("heads_negative", dict(heads_fraction=-0.5), "heads"),
        ("ffn_1.0", dict(ffn_fraction=1.0), "ffn"),
        ("unknown_importance", dict(importance="random"), "importance"),
    ]:
        add(
            f"prune_structured_{name}",
            "compress",
            f"ValueError naming {key}",
            lambda ctx, d, kw=kw: compress().prune_structured(ctx.backbone, **kw),
            [key],
        )
    add(
        "prepare_qat_not_a_model",
        "compress",
        "error naming the type",
        lambda ctx, d: compress().prepare_qat("clf.keras"),
        ["str|model"],
        errors=("ValueError", "TypeError"),
    )
    add(
        "prune_low_magnitude_sparsity_number",
        "compress",
        "error: pass a PruningSchedule",
        lambda ctx, d: compress().prune_low_magnitude(ctx.backbone, 0.5),
        ["schedule|ConstantSparsity"],
        errors=("ValueError", "TypeError"),
    )

    add(
        "multi_device_mirrored_fit",
        "train",
        "MirroredStrategy over two logical CPUs: build, compile, fit int32 ids -> finite loss",
        _multi_device,
        kind="check",
        item=1,
    )
    return cases


def _rewrite_config(folder, drop):
    path = os.path.join(folder, "ckpt", "config.json")
    with open(path) as f:
        config = json.load(f)
    config.pop(drop)
    with open(path, "w") as f:
        json.dump(config, f)


def _drop_tensor(folder, name):
    from safetensors.numpy import load_file, save_file

    file = os.path.join(folder, "ckpt", "model.safetensors")
    tensors = load_file(file)
    tensors.pop(name)
    save_file(tensors, file, metadata={"format": "pt"})


def _truncate(file):
    size = os.path.getsize(file)
    with open(file, "r+b") as f:
        f.truncate(size // 2)


def _plain_keras_model():
    import keras

    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


def _stale_tmp(ctx, folder):
    """An export killed half-way left `.m.tflite.<x>.tmp`; the next export must not keep it silently."""
    import tfzoo

    stale = os.path.join(folder, ".m.tflite.k1ll3d.tmp")
    os.makedirs(stale)
    _write(folder, ".m.tflite.k1ll3d.tmp/m.tflite", b"half-written")
    old = time.time() - 3 * 3600
    os.utime(stale, (old, old))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
            tfzoo.export(model, os.path.join(folder, "m.tflite"), print_report=False)
    said = " ".join(str(w.message) for w in caught) + buffer.getvalue()
    if not os.path.isfile(os.path.join(folder, "m.tflite")):
        return BAD, "the export wrote no m.tflite"
    if not os.path.exists(stale):
        return GOOD, "the stale .tmp folder was removed"
    if ".m.tflite.k1ll3d.tmp" in said or "stale" in said.lower():
        return GOOD, "the stale .tmp folder was reported"
    return BAD, "the stale .tmp folder stays, unreported"


def _qat_int8(ctx, folder):
    import tfzoo

    model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
    qat = tfzoo.prepare_qat(model)
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        report = tfzoo.export(
            qat, os.path.join(folder, "q.tflite"), quantize="int8", print_report=False
        )
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=report.path)
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    fc = [op for op in interpreter._get_ops_details() if op["op_name"] == "FULLY_CONNECTED"]
    float_fc = [op for op in fc if tensors[op["inputs"][1]]["dtype"].__name__ != "int8"]
    reported = report.ops.get("by_type", {}).get("FULLY_CONNECTED")
    summary = f"{len(fc)} FULLY_CONNECTED ({len(float_fc)} float), report says {reported}"
    if not report.verified:
        return BAD, f"not verified: {summary}"
    if not fc or reported != len(fc):
        return BAD, f"op counts disagree: {summary}"
    if float_fc:
        return POOR, f"some dense layers stay float: {summary}"
    return GOOD, f"verified; {summary}, matmul dtypes {report.ops.get('matmul_dtypes')}"


def _multi_device(ctx, folder):
    import keras
    import numpy as np
    import tensorflow as tf

    import tfzoo

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(devices) < 2:
        return BAD, f"only {len(devices)} logical CPU(s): split_cpu came too late"
    strategy = tf.distribute.MirroredStrategy(devices[:2])
    with strategy.scope():
        model = tfzoo.build("bert-tiny", task="classification", num_classes=2, **TINY)
        model.compile(
            optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        )
    rng = np.random.default_rng(0)
    x = inputs(batch=8)
    x["token_ids"] = rng.integers(1, VOCAB, (8, 8)).astype("int32")
    try:
        history = model.fit(x, rng.integers(0, 2, 8).astype("int32"), batch_size=4, verbose=0)
    except Exception as e:  # the idiom must work: any error is a failure of the library
        return BAD, _summary(e)
    loss = history.history["loss"][-1]
    if not np.isfinite(loss):
        return BAD, f"loss {loss}"
    return GOOD, f"fit on {len(devices)} replicas, loss {loss:.4f}"


# --- CLI cases ---------------------------------------------------------------------------------


def cli_cases():
    cases = []

    def add(name, argv, keywords, expected=None, setup=None, item=None, separate=False):
        cases.append(
            Case(
                name,
                "cli",
                expected or "exit 2, one line naming " + ", ".join(keywords),
                keywords=tuple(keywords),
                setup=setup,
                item=item,
                argv=argv,
                separate=separate,
            )
        )

    def files(**content):
        return lambda ctx, d: [_write(d, k.replace("__", "."), v) for k, v in content.items()]

    unwritable = _unwritable()
    add(
        "cli_build_set_hidden_dim_abc",
        ["build", "bert-tiny", "--set", "hidden_dim=abc"],
        ["hidden_dim", "abc", "Fix"],
        item=8,
        separate=True,
    )
    add("cli_unknown_command", ["nonsense"], ["nonsense"], separate=True)
    add(
        "cli_export_int8_without_calibration",
        ["export", "MODEL", "out.tflite", "--quantize", "int8"],
        ["--calibration-data", "--calibration-tokenizer"],
        item=8,
        separate=True,
    )
    for key, value in [
        ("num_layers", "0"),
        ("num_heads", "0"),
        ("hidden_dim", "-16"),
        ("vocabulary_size", "0"),
        ("num_layers", "2.5"),
        ("dropout", "high"),
        ("num_layer", "2"),
    ]:
        add(
            f"cli_build_set_{key}={value}",
            ["build", "bert-tiny", "--set", f"{key}={value}"],
            [f"{key}", value],
            item=8,
        )
    add(
        "cli_build_set_without_equals", ["build", "bert-tiny", "--set", "num_layers"], ["key=value"]
    )
    add("cli_build_unknown_name", ["build", "bert-tinny"], ["bert-tinny", "bert-tiny"])
    add(
        "cli_build_unknown_task",
        ["build", "bert-tiny", "--task", "summarization"],
        ["summarization"],
    )
    add(
        "cli_build_output_exists",
        ["build", "bert-tiny", "--set", "num_layers=1", "--output", "m.keras"],
        ["exists", "--overwrite"],
        setup=files(m__keras=b"an earlier model"),
    )
    add("cli_build_output_h5", ["build", "bert-tiny", "--output", "m.h5"], [".keras"])
    add(
        "cli_build_num_classes_0",
        ["build", "bert-tiny", "--task", "classification", "--num-classes", "0"],
        ["num_classes|num-classes", "0"],
    )
    add(
        "cli_export_existing_output",
        ["export", "MODEL", "m.tflite"],
        ["exists", "--overwrite"],
        setup=files(m__tflite=b"an earlier export"),
    )
    add("cli_export_unknown_extension", ["export", "MODEL", "m.pt"], ["m.pt|.pt"])
    add(
        "cli_export_extension_format_mismatch",
        ["export", "MODEL", "m.onnx", "--format", "tflite"],
        ["onnx", "tflite"],
        item=3,
    )
    add("cli_export_missing_model", ["export", "missing.keras", "m.tflite"], ["missing.keras"])
    add(
        "cli_export_broken_model",
        ["export", "broken.keras", "m.tflite"],
        ["broken.keras", "Fix"],
        setup=files(broken__keras=b"not a zip"),
    )
    add(
        "cli_export_unwritable",
        ["export", "MODEL", f"{unwritable}/tfzoo-probe/m.tflite"],
        ["not writable", "Fix"],
        item=10,
    )
    add(
        "cli_export_calibration_data_without_tokenizer",
        [
            "export",
            "MODEL",
            "m.tflite",
            "--quantize",
            "int8",
            "--calibration-data",
            "movie_reviews",
        ],
        ["--calibration-tokenizer"],
    )
    add(
        "cli_export_sequence_length_0",
        ["export", "MODEL", "m.tflite", "--sequence-length", "0"],
        ["sequence"],
    )
    add("cli_verify_missing_artifact", ["verify", "missing.tflite"], ["missing.tflite"])
    add(
        "cli_compress_prune_sparsity_1.5",
        ["compress", "prune", "MODEL", "p.keras", "--sparsity", "1.5"],
        ["sparsity", "1.5"],
    )
    add(
        "cli_compress_prune_bad_block",
        ["compress", "prune", "MODEL", "p.keras", "--block", "1y4"],
        ["--block", "1y4"],
    )
    add(
        "cli_compress_structured_heads_1.0",
        ["compress", "structured", "MODEL", "s.keras", "--heads", "1.0"],
        ["heads"],
    )
    add(
        "cli_train_missing_csv",
        ["train", "classify", "--model", "bert-tiny", "--data", "nope.csv", "--output", "run"],
        ["nope.csv"],
    )
    add(
        "cli_train_csv_without_text_column",
        ["train", "classify", "--model", "bert-tiny", "--data", "bad.csv", "--output", "run"],
        ["'text'", "Fix"],
        setup=files(bad__csv=b"review,stars\ngood,1\n"),
    )
    add("cli_demo_epochs_0", ["demo", "--epochs", "0"], ["--epochs", "0"])
    add(
        "cli_viz_output_jpg",
        ["viz", "attention", "--text", "hi", "--output", "a.jpg"],
        [".png"],
    )
    add("cli_models_unknown_family", ["models", "--family", "bret"], ["bret"])
    return cases


def _cli_argv(case, ctx):
    return [ctx.keras_file if a == "MODEL" else a for a in case.argv]


# The driver: one process runs many `tfzoo.cli.main(argv)` calls, each in its own folder.
_DRIVER = r"""
import contextlib, io, json, os, sys, traceback
sys.argv[0] = "tfzoo"  # behave as the console script (start-up notices held)
from tfzoo.cli import main
jobs = json.load(open(sys.argv[1]))
out = []
for job in jobs:
    os.chdir(job["folder"])
    err, std = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(std):
        try:
            rc = main(job["argv"])
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            rc = 1
    out.append({"rc": rc, "stderr": err.getvalue(), "stdout": std.getvalue()[-2000:]})
json.dump(out, open(sys.argv[2], "w"))
"""


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("TFZOO_DEBUG", None)
    return env


def _tfzoo_command():
    script = os.path.join(os.path.dirname(sys.executable), "tfzoo")
    if os.path.isfile(script):
        return [sys.executable, script]
    code = "import sys; sys.argv[0] = 'tfzoo'; from tfzoo.cli import main; sys.exit(main())"
    return [sys.executable, "-c", code]


def prepare_cli(cases, ctx):
    """One folder per CLI case, set up and snapshotted (in the main thread: may build models)."""
    prepared = []
    for case in cases:
        folder = tempfile.mkdtemp(prefix=case.name[:40] + "-", dir=ctx.root)
        if case.setup:
            case.setup(ctx, folder)
        prepared.append((case, folder, _snapshot(folder), _cli_argv(case, ctx)))
    return prepared


def run_cli(prepared, ctx, report):
    """Runs the prepared CLI cases as subprocesses; `report(case, verdict, happened, s)` each."""
    grouped = [p for p in prepared if not p[0].separate]
    if grouped:
        jobs = os.path.join(ctx.root, "cli_jobs.json")
        answers = os.path.join(ctx.root, "cli_answers.json")
        with open(jobs, "w") as f:
            json.dump([{"folder": p[1], "argv": p[3]} for p in grouped], f)
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _DRIVER, jobs, answers],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=1800,
        )
        seconds = (time.perf_counter() - start) / len(grouped)
        if proc.returncode != 0 or not os.path.isfile(answers):
            crash = (_lines(proc.stderr) or ["(no output)"])[-1]
            results = [{"rc": -1, "stderr": f"driver crashed: {crash}"}] * len(grouped)
        else:
            with open(answers) as f:
                results = json.load(f)
        for (case, folder, before, _), result in zip(grouped, results):
            verdict, happened = judge_cli(
                case, result["rc"], result["stderr"], _changes(before, _snapshot(folder))
            )
            report(case, verdict, happened, seconds)
    for case, folder, before, argv in prepared:
        if not case.separate:
            continue
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                _tfzoo_command() + argv,
                cwd=folder,
                env=_env(),
                capture_output=True,
                text=True,
                timeout=600,
            )
            rc, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired:
            rc, stderr = None, "timed out after 600 s"
        verdict, happened = judge_cli(case, rc, stderr, _changes(before, _snapshot(folder)))
        report(case, verdict, happened, time.perf_counter() - start)


def run_case(case, ctx):
    folder = tempfile.mkdtemp(prefix=case.name[:40] + "-", dir=ctx.root)
    if case.setup:
        case.setup(ctx, folder)
    before = _snapshot(folder)
    buffer = io.StringIO()
    error = None
    result = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with contextlib.redirect_stdout(buffer):
            try:
                result = case.action(ctx, folder)
            except Exception as e:  # the point of the probe: every error is judged
                error = e
    if case.kind == "check":
        if error is not None:
            return BAD, _summary(error)
        return result
    return judge_error(case, error, _changes(before, _snapshot(folder)))


# --- main ----------------------------------------------------------------------------------------


def all_cases():
    return build_cases() + cli_cases()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="run the cases whose name contains this (a regex)")
    parser.add_argument("--list", action="store_true", help="list the case names and exit")
    parser.add_argument("--output", default=RESULTS, help="JSON results (default %(default)s)")
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI cases")
    args = parser.parse_args(argv)

    cases = all_cases()
    if args.only:
        cases = [c for c in cases if re.search(args.only, c.name)]
    if args.no_cli:
        cases = [c for c in cases if c.group != "cli"]
    if args.list:
        for case in cases:
            print(f"{case.group:10s} {case.name}")
        return 0
    if not cases:
        print(f"no case matches {args.only!r}", file=sys.stderr)
        return 2

    import tfzoo

    if any(c.name == "multi_device_mirrored_fit" for c in cases):
        # Two logical CPUs for the multi-device idiom: must come before TensorFlow starts.
        tfzoo.train.split_cpu(2)

    rows = []
    started = time.perf_counter()

    def report(case, verdict, happened, seconds):
        row = {
            "case": case.name,
            "group": case.group,
            "issue_item": case.item,
            "expected": case.expected,
            "happened": happened,
            "verdict": verdict,
            "seconds": round(seconds, 2),
        }
        rows.append(row)
        print(f"{verdict:4s}  {case.name:48s}  {happened[:140]}", flush=True)

    with tempfile.TemporaryDirectory(prefix="tfzoo-probe-") as root:
        ctx = Context(root)
        os.makedirs(os.path.join(root, "fixtures"))
        # The CLI subprocesses run in a thread while the library cases run here: they only
        # wait on other processes, and their results are reported at the end.
        cli_results = []
        cli = [c for c in cases if c.group == "cli"]
        thread = None
        if cli:
            prepared = prepare_cli(cli, ctx)
            thread = threading.Thread(
                target=run_cli, args=(prepared, ctx, lambda *r: cli_results.append(r))
            )
            thread.start()
        for case in [c for c in cases if c.group != "cli"]:
            start = time.perf_counter()
            try:
                verdict, happened = run_case(case, ctx)
            except Exception as e:  # a failure of the probe's own setup is reported, not hidden
                verdict = BAD
                happened = f"probe setup failed: {type(e).__name__}: {(_lines(e) or [''])[0]}"
                traceback.print_exc()
            report(case, verdict, happened, time.perf_counter() - start)
        if thread is not None:
            thread.join()
        for result in cli_results:
            report(*result)

    counts = {v: sum(r["verdict"] == v for r in rows) for v in (GOOD, POOR, BAD)}
    total = time.perf_counter() - started
    _print_table(rows)
    print(
        f"\n{len(rows)} cases: {counts[GOOD]} GOOD, {counts[POOR]} POOR, {counts[BAD]} BAD "
        f"({total:.0f} s)"
    )
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(
            {"counts": counts, "cases": len(rows), "seconds": round(total, 1), "results": rows},
            f,
            indent=2,
        )
        f.write("\n")
    print(f"wrote {args.output}")
    return 0


def _print_table(rows):
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        return
    table = Table(title="tfzoo: what a new user hits", show_lines=False)
    for column in ("case", "expected", "what happened (first line)", "verdict"):
        table.add_column(column, overflow="fold")
    colours = {GOOD: "green", POOR: "yellow", BAD: "red"}
    for r in rows:
        v = r["verdict"]
        table.add_row(r["case"], r["expected"], r["happened"][:200], f"[{colours[v]}]{v}[/]")
    Console(width=200).print(table)


if __name__ == "__main__":
    sys.exit(main())
