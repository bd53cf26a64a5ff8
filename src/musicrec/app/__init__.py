"""The Streamlit web app: `musicrec app` runs `streamlit run` on `main.py`.

Importing this package does not import Streamlit; the page modules do.
"""
