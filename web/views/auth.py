"""Logging in and out (a session; only needed when [web] password is set)."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request

from web import security
from web.views.common import config, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        security.check_csrf()
        if security.login(config(), request.form.get("password", "")):
            return redirect(safe_next())
        error = "That password is not right."
    return render_template("login.html", error=error, next=safe_next(), page="login"), (
        401 if error else 200
    )


@bp.post("/logout")
def logout():
    security.check_csrf()
    security.logout(config())
    return redirect("/")
