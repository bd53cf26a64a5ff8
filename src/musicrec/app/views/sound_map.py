"""The sound map page (run by st.navigation from main.py)."""

from musicrec.app.sound_map import render

render()
