"""Reading a `.litertlm` bundle back: its `LlmMetadata`, tokenizer and TFLite model.

The file holds a flatbuffer header (after the 8-byte magic `LITERTLM`) that lists sections by
data type and byte range; each section is read alone, so the 100s of MB of a model's TFLite
section are only copied when they are asked for (`extract_tflite`).
"""

import io
import os
import zlib

CHUNK = 1 << 24


def _require_builder():
    try:
        from litert_lm_builder import litertlm_header_schema_py_generated as schema
        from litert_lm_builder import litertlm_peek
    except ImportError:
        raise ImportError(
            "Reading a .litertlm bundle needs the `litert_lm_builder` package: "
            "pip install 'tfzoo[litertlm]' (litert-lm-api, litert-lm-builder, ai-edge-quantizer)."
        ) from None
    return schema, litertlm_peek


def sections(path):
    """`{data type name: (begin, end)}` of the bundle's sections (the first of each type)."""
    schema, peek = _require_builder()
    if not os.path.isfile(path):
        raise ValueError(f"There is no .litertlm file at {path}; pass the bundle's path.")
    try:
        header = peek.read_litertlm_header(path, io.StringIO())
    except ValueError as error:
        raise ValueError(f"{path} is not a .litertlm bundle ({error}).") from None
    names = {v: k for k, v in vars(schema.AnySectionDataType).items() if not k.startswith("_")}
    found = {}
    table = header.SectionMetadata()
    for i in range(table.ObjectsLength() if table else 0):
        obj = table.Objects(i)
        found.setdefault(
            names.get(obj.DataType(), str(obj.DataType())),
            (
                obj.BeginOffset(),
                obj.EndOffset(),
            ),
        )
    return found


def _section_bytes(path, kind):
    where = sections(path)
    if kind not in where:
        raise ValueError(f"{path} has no {kind} section; it is not a tfzoo language-model bundle.")
    begin, end = where[kind]
    with open(path, "rb") as f:
        f.seek(begin)
        return f.read(end - begin)


def llm_metadata(path):
    """The bundle's `LlmMetadata` proto (start/stop tokens, `max_num_tokens`, chat template)."""
    from litert_lm_builder.runtime.proto import llm_metadata_pb2

    message = llm_metadata_pb2.LlmMetadata()
    message.ParseFromString(_section_bytes(path, "LlmMetadataProto"))
    return message


def tokenizer_json(path):
    """The bundle's Hugging Face `tokenizer.json` text."""
    data = _section_bytes(path, "HF_Tokenizer_Zlib")
    return zlib.decompress(data[8:]).decode("utf-8")  # 8 bytes: the uncompressed size


def extract_tflite(path, destination):
    """Copies the bundle's TFLite model to `destination`; returns `destination`."""
    where = sections(path)
    if "TFLiteModel" not in where:
        raise ValueError(f"{path} has no TFLite model section.")
    begin, end = where["TFLiteModel"]
    with open(path, "rb") as src, open(destination, "wb") as dst:
        src.seek(begin)
        left = end - begin
        while left:
            block = src.read(min(CHUNK, left))
            if not block:
                raise ValueError(f"{path} ends inside its TFLite section; the file is cut short.")
            dst.write(block)
            left -= len(block)
    return destination
