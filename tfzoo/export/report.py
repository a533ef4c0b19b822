"""What an export wrote and how the artifact behaved: `ExportReport`, and `PATH.report.json`."""

import dataclasses
import json

from tfzoo.text.assets import write_text_atomic

REPORT_SUFFIX = ".report.json"


@dataclasses.dataclass
class ExportReport:
    """What `tfzoo.export` wrote and how the artifact behaved in its runtime.

    Attributes:
        path: str. The artifact (the requested path, or the `.UNVERIFIED` one on failure).
        format: str. `"saved_model"`, `"tflite"` or `"onnx"`.
        quantize: str or `None`. The quantization mode (TFLite only).
        file_size: int. Bytes of the file (or of the SavedModel directory).
        weight_bytes: int. Bytes of the model's variables, for comparison with `file_size`.
        ops: dict. `count`, `by_type` (op name -> count), `non_builtin` (Flex/custom ops) and,
            for TFLite, `xnnpack_partitions` and `matmul_dtypes`: FULLY_CONNECTED and
            BATCH_MATMUL ops counted by input dtype (`{"int8": 18}` for a full-integer file,
            `"int8_weights"` for int8 weights with float inputs, `"float32"`).
        inputs: dict of input name to `{"dtype", "shape"}` (`None` = dynamic dimension).
        sample_shape: list. Shape of the sample's first input, the one latency is timed on
            (`(batch,
            sequence)`, the source for seq2seq; `(batch, height, width, channels)` for ViT).
        outputs: list of dicts per output: `max_abs_diff`, `cosine`, `top1`, `criteria`, `ok`.
        verified: bool. Every output within tolerance.
        verified_rows: int. Rows the outputs (and their `top1` agreement) were compared on:
            at least `VERIFY_ROWS` (64) for a classifier given `representative_data`.
        verified_on: str. Where those rows came from, e.g. `"8 sample rows + 56
            representative_data rows"`.
        latency_ms: float. Median latency of the artifact on the sample in its runtime.
        threads: int. Threads the runtime used.
        runtime: str. The runtime and its version.
        seconds: float. Wall time of the whole export.
        notes: list of str.
    """

    path: str
    format: str
    quantize: str | None
    file_size: int
    weight_bytes: int
    ops: dict
    inputs: dict
    sample_shape: list
    outputs: list
    verified: bool
    latency_ms: float
    threads: int
    runtime: str
    seconds: float
    notes: list
    verified_rows: int = 0
    verified_on: str = ""

    def to_dict(self):
        """The report as a JSON-serializable dict."""
        return dataclasses.asdict(self)

    def __getitem__(self, key):
        return getattr(self, key)

    def table(self):
        """A `rich.table.Table` of the report."""
        from rich.table import Table

        status = "[green]verified[/green]" if self.verified else "[red]NOT VERIFIED[/red]"
        if self.verified_on:
            status += f" on {self.verified_on}"
        title = f"tfzoo.export {self.format}" + (f" ({self.quantize})" if self.quantize else "")
        table = Table(title=title, caption=status, show_header=True)
        for column in ("output", "max_abs_diff", "cosine", "top1", "tolerance", "result"):
            table.add_column(column)
        for o in self.outputs:
            table.add_row(
                o["name"],
                _num(o["max_abs_diff"], ".2e"),
                _num(o["cosine"], ".6f"),
                _num(o["top1"], ".3f"),
                ", ".join(f"{k} {v:g}" for k, v in o["criteria"].items() if v is not None),
                "ok" if o["ok"] else "FAIL: " + "; ".join(o["failures"]),
            )
        return table

    def summary(self):
        """A `rich.table.Table` grid of the artifact's facts (path, size, ops, latency)."""
        from rich.table import Table

        top = sorted(self.ops["by_type"].items(), key=lambda kv: -kv[1])[:8]
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold")
        grid.add_column()
        grid.add_row("path", self.path)
        grid.add_row(
            "size", f"{self.file_size / 1e6:.3f} MB (weights {self.weight_bytes / 1e6:.3f} MB)"
        )
        grid.add_row(
            "inputs", ", ".join(f"{n} {d['dtype']} {d['shape']}" for n, d in self.inputs.items())
        )
        grid.add_row("ops", f"{self.ops['count']}: " + ", ".join(f"{k} x{v}" for k, v in top))
        grid.add_row("non-builtin", ", ".join(self.ops["non_builtin"]) or "none")
        grid.add_row(
            "latency",
            f"{self.latency_ms:.3f} ms median, sample {tuple(self.sample_shape)}, {self.runtime}, "
            f"{self.threads} threads",
        )
        for note in self.notes:
            grid.add_row("note", note)
        return grid

    def print(self):
        """Prints the report table to the terminal."""
        from rich.console import Console

        console = Console()
        console.print(self.table())
        console.print(self.summary())


def _num(value, spec):
    return "-" if value is None else format(value, spec)


def write_report(report):
    """Writes `report` (an `ExportReport` or a decoder export's dict) beside its artifact."""
    content = report.to_dict() if hasattr(report, "to_dict") else report
    write_text_atomic(content["path"] + REPORT_SUFFIX, json.dumps(content, indent=2) + "\n")
