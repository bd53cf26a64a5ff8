"""The discover page (run by st.navigation from main.py)."""

from musicrec.app.discover import render

render()
