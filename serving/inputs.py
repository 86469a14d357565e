"""How a sentence and its context become the model's text pair.

Training and serving must build exactly the same input, so both call :func:`model_pair`.
The second segment carries what the sentence alone cannot show: whether a quotation opened in
an earlier sentence is still open when this one starts (news style continues quotes over
sentences and paragraphs without repeating the marks) and, in the ``previous_sentence`` mode, the
previous sentence (in ``previous_tail``, its last words). The model folder's manifest names the
mode its model was trained with.
"""

from __future__ import annotations

from typing import Literal, get_args

#: Prefix of the context segment when the sentence starts inside an open quotation.
INSIDE_QUOTE_MARKER = "inside quotation:"
#: The previous sentence is cut to this many characters; the tokenizer truncates it further if needed.
MAX_CONTEXT_CHARS = 600
#: Words of the previous sentence that the ``previous_tail`` mode keeps: enough to show a lead-in
#: (``The governor added:``) or a quotation that just closed, a third of a sentence's tokens.
TAIL_WORDS = 6
#: ...and at most this many characters of them, so that a URL or a run of symbols stays short.
MAX_TAIL_CHARS = 80


#: What the context segment holds; a model folder's manifest records the mode it was trained with.
#: ``previous_sentence``: the open-quotation marker and the previous sentence; ``quote_state``: the
#: marker alone (the quote-continuation rule needs it, and it adds three tokens, not a sentence);
#: ``previous_tail``: the marker and the last words of the previous sentence (an attribution cut off
#: from its quotation, or a sentence after a colon lead-in, reads as the writer's own without them);
#: ``none``: the sentence is read alone.
ContextMode = Literal["previous_sentence", "previous_tail", "quote_state", "none"]
CONTEXT_MODES: tuple[str, ...] = get_args(ContextMode)


def model_pair(text: str, previous: str, inside_quote: bool, mode: ContextMode) -> tuple[str, str]:
    """Return ``(sentence, context)`` for the tokenizer's pair encoding under context ``mode``."""
    if mode not in CONTEXT_MODES:
        raise ValueError(f"unknown context mode {mode!r}; expected one of {', '.join(CONTEXT_MODES)}")
    if mode == "none":
        return text.strip(), ""
    if mode == "previous_sentence":
        context = previous.strip()[-MAX_CONTEXT_CHARS:]
    elif mode == "previous_tail":
        context = " ".join(previous.split()[-TAIL_WORDS:])[-MAX_TAIL_CHARS:].lstrip()
    else:
        context = ""
    if inside_quote:
        context = f"{INSIDE_QUOTE_MARKER} {context}".rstrip()
    return text.strip(), context
