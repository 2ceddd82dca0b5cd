"""The real server, its websocket protocol client, the browser settings and the checks of what a page says.

Shared by ``tests/`` and ``bench/``, so neither imports the other (``tests/test_layers.py``):

- ``server``: starts and stops ``streamlit run app.py`` on 127.0.0.1;
- ``protocol_client``: one session spoken over Streamlit's websocket protocol;
- ``browser``: Debian's Chromium settings and a few contexts of it opening scale links at once;
- ``page_checks``: whether a page shows its own setting's answer;
- ``mixture_data``: data sets of clearly separated groups, and whether a fit found them.
"""
