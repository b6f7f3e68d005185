"""The bedside dashboard: the Flask app factory is `web.app.create_app`.

This package's own module imports nothing, so importing one of its modules (the
server, the demo) does not build or import the app.
"""
