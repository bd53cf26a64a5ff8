"""The continue page (run by st.navigation from main.py)."""

from musicrec.app.continue_page import render

render()
