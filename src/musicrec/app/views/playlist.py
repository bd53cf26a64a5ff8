"""The playlist page (run by st.navigation from main.py)."""

from musicrec.app.playlist import render

render()
