"""How a sentence and its context become the model's text pair.

Training and serving must build exactly the same input, so both call :func:`model_pair`.
The second segment carries what the sentence alone cannot show: whether a quotation opened in
an earlier sentence is still open when this one starts (news style continues quotes over
sentences and paragraphs without repeating the marks), and the previous sentence.
"""

from __future__ import annotations

#: Prefix of the context segment when the sentence starts inside an open quotation.
INSIDE_QUOTE_MARKER = "inside quotation:"
#: The previous sentence is cut to this many characters; the tokenizer truncates it further if needed.
MAX_CONTEXT_CHARS = 600


def model_pair(text: str, previous: str = "", inside_quote: bool = False) -> tuple[str, str]:
    """Return ``(sentence, context)`` for the tokenizer's pair encoding."""
    context = previous.strip()[-MAX_CONTEXT_CHARS:]
    if inside_quote:
        context = f"{INSIDE_QUOTE_MARKER} {context}".rstrip()
    return text.strip(), context
