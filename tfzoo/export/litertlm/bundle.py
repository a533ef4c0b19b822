"""Packing a `.litertlm` bundle: the TFLite model, the tokenizer and an `LlmMetadata`."""

import os
import tempfile

EXTRA = "litertlm"


def require(module):
    """Imports one of the LiteRT-LM packages or raises a one-line error naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(
            f"The .litertlm export needs the `{module}` package: pip install 'tfzoo[{EXTRA}]' "
            f"(litert-lm-api, litert-lm-builder, ai-edge-quantizer)."
        ) from None


def llm_metadata(start_token_id, stop_token_ids, max_tokens, chat_template=None):
    """The `LlmMetadata` proto: start and stop tokens, context size and the prompt template.

    `chat_template` (the checkpoint's Jinja chat template) becomes `jinja_prompt_template`, which
    LiteRT-LM renders for conversations; raw sessions without a template feed text as is.
    """
    require("litert_lm_builder")
    from litert_lm_builder.runtime.proto import llm_metadata_pb2, llm_model_type_pb2

    msg = llm_metadata_pb2.LlmMetadata()
    if start_token_id is not None:
        msg.start_token.token_ids.ids.append(int(start_token_id))
    for i in stop_token_ids:
        msg.stop_tokens.add().token_ids.ids.append(int(i))
    msg.max_num_tokens = int(max_tokens)
    msg.llm_model_type.CopyFrom(
        llm_model_type_pb2.LlmModelType(generic_model=llm_model_type_pb2.GenericModel())
    )
    if chat_template:
        msg.jinja_prompt_template = chat_template
    return msg


def write_bundle(path, tflite_path, tokenizer_json, metadata):
    """Writes the `.litertlm` file at `path` from a TFLite file, a `tokenizer.json` text and the
    `LlmMetadata` proto. Returns the sections written (for the report)."""
    builder_module = require("litert_lm_builder")
    with tempfile.TemporaryDirectory(prefix="tfzoo-litertlm-") as temp:
        meta_path = os.path.join(temp, "llm_metadata.pb")
        with open(meta_path, "wb") as f:
            f.write(metadata.SerializeToString())
        tok_path = os.path.join(temp, "tokenizer.json")
        with open(tok_path, "w", encoding="utf-8") as f:
            f.write(tokenizer_json)
        builder = builder_module.LitertLmFileBuilder()
        builder.add_system_metadata(
            builder_module.Metadata(key="Authors", value="tfzoo", dtype=builder_module.DType.STRING)
        )
        builder.add_llm_metadata(meta_path)
        builder.add_tflite_model(tflite_path, builder_module.TfLiteModelType.PREFILL_DECODE)
        builder.add_hf_tokenizer(tok_path)
        with open(path, "wb") as f:
            builder.build(f)
    return ["llm_metadata", "tflite_prefill_decode", "hf_tokenizer"]
