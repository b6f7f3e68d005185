"""The dashboard's blueprints, one module per feature; web.app.create_app registers them.

now (/, /now/live, /mode, /favicon.ico), nights, cramps, evidence, export, rooms,
auth (/login, /logout) and api (/api/*, /healthz).  The helpers they share (the
app's store access, the current room, paging, the write_required guard) are in
web.views.common.  This module imports none of them (see tests/test_web_imports.py).
"""
