"""The prompt box of the Discover and Radio pages: a prompt in words, its answer
(`musicrec.prompts.answer`) and how each part of it was read."""

from __future__ import annotations

import streamlit as st

from musicrec.app import format as fmt
from musicrec.errors import MusicrecError
from musicrec.library import Library
from musicrec.prompts.answer import PromptAnswer, answer_prompt

EXAMPLE = "calm acoustic 70s like Joni Mitchell"


def ask(lib: Library, key: str, limit: int, button: str) -> PromptAnswer | None:
    """A text box and a button; once pressed, the answer (None before, or on an error, which
    is shown), with the reading of each part and the words not understood under the box."""
    text = st.text_input("Say it in words", key=f"{key}_prompt", placeholder=EXAMPLE,
                         help="Artists and songs ('like X', 'not X'), decades (90s), tempo "
                              "(120 bpm), #genre, and words such as calm, fast, acoustic.")
    if not st.button(button, key=f"{key}_prompt_go", icon=":material/auto_awesome:"):
        return None
    try:
        found = answer_prompt(lib, text, limit)
    except MusicrecError as exc:
        st.error(str(exc), icon=":material/error:")
        return None
    for part in found.reading.parts:
        st.caption(fmt.markdown(part.said()))
    if found.reading.unknown:
        st.caption(fmt.markdown("Not understood: " + ", ".join(found.reading.unknown)))
    return found
