"""The library page (run by st.navigation from main.py)."""

from musicrec.app.library_page import render

render()
