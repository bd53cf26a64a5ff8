"""Page scripts run by `st.navigation`; a package so that they are installed with musicrec."""
