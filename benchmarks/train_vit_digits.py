"""Train a small ViT on scikit-learn's handwritten digits (offline) and export it to int8 TFLite.

Data: `tfzoo.data.load_digits(image_size=32)`: the 1,797 8x8 digits bundled with scikit-learn,
upscaled to 32x32, standardised, split 80/10/10 by a hash of each image. The model is
`tfzoo.build("vit-tiny", task="classification", ...)` with a small override (patch 8: 16
patches + a class token; 4 layers, width 64). It is trained with `fit`, the epoch with the best
validation accuracy is kept, and the test accuracy is measured once at the end. Then the model is
exported to full-integer int8 TFLite, calibrated on the validation images, through
`tfzoo.export(..., quantize="int8", representative_data=...)`; if that path does not take image
models (`--converter`, or an error from it), the TFLite converter is used directly, as in
`tests/models/test_vit.py`. The int8 file is run in `ai_edge_litert` on the whole test split.

Usage (training took 389 s on 2 shared CPU cores, the export and LiteRT check about a minute):

    python benchmarks/train_vit_digits.py --out benchmarks/results/vit_digits.json
"""

import argparse
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CONFIG = dict(
    image_size=32,
    patch_size=8,
    num_channels=1,
    num_layers=4,
    num_heads=4,
    hidden_dim=64,
    intermediate_dim=128,
)


def _export_with_tfzoo(model, path, representative):
    import tfzoo

    report = tfzoo.export(
        model,
        path,
        quantize="int8",
        representative_data=[{"images": image[None]} for image in representative],
        overwrite=True,
        print_report=False,
    )
    return {"path": "tfzoo.export", "verified": bool(getattr(report, "verified", False))}


def _export_with_converter(model, path, representative):
    import tensorflow as tf

    size, channels = CONFIG["image_size"], CONFIG["num_channels"]

    @tf.function(
        input_signature=[tf.TensorSpec((1, size, size, channels), tf.float32, name="images")]
    )
    def serve(images):
        return {"logits": model({"images": images}, training=False)}

    def dataset():
        for image in representative:
            yield [image[None]]

    # The converter freezes the variables a tf.Module tracks: give it the underlying tf.Variables.
    module = tf.Module()
    module.weights = [getattr(v, "value", v) for v in model.variables]
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [serve.get_concrete_function()], module
    )
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = dataset
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with open(path, "wb") as f:
        f.write(converter.convert())
    return {"path": "tf.lite.TFLiteConverter (from_concrete_functions)", "verified": None}


def _tflite_predictions(path, images):
    """Top-1 of the TFLite file, one image at a time (inputs quantized if the file wants int8)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=2)
    inp = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(inp["index"], (1,) + images.shape[1:])
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    predictions, seconds = [], []
    for image in images:
        x = image[None]
        if inp["dtype"] != np.float32:
            scale, zero = inp["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], x)
        start = time.perf_counter()
        interpreter.invoke()
        seconds.append(time.perf_counter() - start)
        predictions.append(int(np.argmax(interpreter.get_tensor(out["index"])[0])))
    return np.asarray(predictions), 1000 * float(np.median(seconds))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="benchmarks/results/vit_digits.json")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--converter", action="store_true", help="use the TFLite converter, not tfzoo.export"
    )
    args = parser.parse_args(argv)

    import keras
    import numpy as np

    import tfzoo
    import tfzoo.models.vit  # noqa: F401  (registers the vit family)
    from tfzoo.data import load_digits

    keras.utils.set_random_seed(args.seed)
    data = load_digits(image_size=CONFIG["image_size"])
    model = tfzoo.build("vit-tiny", task="classification", num_classes=10, **CONFIG)
    steps = args.epochs * int(np.ceil(len(data.train) / 64))
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0, steps, warmup_target=2e-3, warmup_steps=steps // 10
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.05),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    best = keras.callbacks.ModelCheckpoint(
        os.path.join(tempfile.mkdtemp(), "best.weights.h5"),
        monitor="val_accuracy",
        save_best_only=True,
        save_weights_only=True,
    )
    start = time.perf_counter()
    history = model.fit(
        {"images": data.train.images},
        data.train.labels,
        validation_data=({"images": data.validation.images}, data.validation.labels),
        epochs=args.epochs,
        batch_size=64,
        callbacks=[best],
        verbose=2,
    )
    train_seconds = time.perf_counter() - start
    model.load_weights(best.filepath)
    _, val_accuracy = model.evaluate(
        {"images": data.validation.images}, data.validation.labels, verbose=0
    )
    _, test_accuracy = model.evaluate({"images": data.test.images}, data.test.labels, verbose=0)
    print(
        f"ViT on digits: validation accuracy {val_accuracy:.4f}, test accuracy {test_accuracy:.4f}"
    )

    # int8 TFLite, calibrated on the validation images.
    out_dir = tempfile.mkdtemp()
    path = os.path.join(out_dir, "vit-digits-int8.tflite")
    export, export_error = None, None
    if not args.converter:
        try:
            export = _export_with_tfzoo(model, path, data.validation.images)
        except Exception as e:  # noqa: BLE001 - recorded in the JSON, then the converter is used
            export_error = f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"
            print(f"tfzoo.export failed ({export_error}); using the TFLite converter directly")
    if export is None:
        export = _export_with_converter(model, path, data.validation.images)
    keras_pred = np.argmax(np.asarray(model.predict({"images": data.test.images}, verbose=0)), -1)
    lite_pred, lite_ms = _tflite_predictions(path, data.test.images)
    int8_accuracy = float(np.mean(lite_pred == data.test.labels))
    agreement = float(np.mean(lite_pred == keras_pred))
    print(
        f"int8 TFLite ({export['path']}): test accuracy {int8_accuracy:.4f}, top-1 agreement "
        f"with Keras {agreement:.4f}, {os.path.getsize(path):,} bytes, {lite_ms:.2f} ms/image"
    )

    report = {
        "benchmark": "ViT on scikit-learn digits (32x32), trained with fit, exported to int8",
        "command": "python benchmarks/train_vit_digits.py",
        "data": {
            "source": data.source,
            "train": len(data.train),
            "validation": len(data.validation),
            "test": len(data.test),
            "image_size": CONFIG["image_size"],
        },
        "model": dict(CONFIG, preset="vit-tiny", parameters=int(model.count_params())),
        "training": {
            "epochs": args.epochs,
            "batch_size": 64,
            "optimizer": "AdamW, weight decay 0.05, cosine schedule to 0, peak 2e-3, 10% warmup",
            "seed": args.seed,
            "kept": "the epoch with the best validation accuracy",
            "best_epoch": int(np.argmax(history.history["val_accuracy"])) + 1,
            "seconds": round(train_seconds, 1),
        },
        "validation_accuracy": float(val_accuracy),
        "test_accuracy": float(test_accuracy),
        "int8_tflite": {
            "export_path": export["path"],
            "tfzoo_export_error": export_error,
            "verified_by_tfzoo_export": export["verified"],
            "calibration": f"{len(data.validation)} validation images",
            "bytes": os.path.getsize(path),
            "test_accuracy": int8_accuracy,
            "top1_agreement_with_keras": agreement,
            "median_ms_per_image": round(lite_ms, 3),
        },
    }
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
