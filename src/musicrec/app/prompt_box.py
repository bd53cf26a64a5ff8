"""The prompt box of the Discover and Radio pages: a prompt in words, its answer
(`musicrec.prompts.answer`) and how each part of it was read."""

from __future__ import annotations

import streamlit as st

from musicrec.app import format as fmt
from musicrec.errors import MusicrecError
from musicrec.library import Library
from musicrec.prompts.answer import PromptAnswer, answer_prompt

EXAMPLE = "calm acoustic 70s like Joni Mitchell"


def ask(lib: Library, key: str, limit: int, button: str,
        remember: bool = False) -> PromptAnswer | None:
    """A text box and a button; once pressed, the answer (None before, or on an error, which
    is shown), with the reading of each part and the words not understood under the box.

    remember: answer again on the page's later runs (a click elsewhere, such as "Add all to
        playlist") while the text is the one asked; otherwise only on the run of the click
        (the Radio page starts a station once per click).
    """
    text = st.text_input("Say it in words", key=f"{key}_prompt", placeholder=EXAMPLE,
                         help="Artists and songs ('like X', 'not X'), decades (90s), tempo "
                              "(120 bpm), #genre, and words such as calm, fast, acoustic.")
    asked = f"{key}_prompt_asked"
    if st.button(button, key=f"{key}_prompt_go", icon=":material/auto_awesome:"):
        st.session_state[asked] = text
    elif not (remember and text and st.session_state.get(asked) == text):
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
