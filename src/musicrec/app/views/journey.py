"""The journey page (run by st.navigation from main.py)."""

from musicrec.app.journey import render

render()
