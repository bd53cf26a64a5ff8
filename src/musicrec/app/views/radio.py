"""The radio page (run by st.navigation from main.py)."""

from musicrec.app.radio import render

render()
