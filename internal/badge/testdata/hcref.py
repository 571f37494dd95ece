"""Renders the golden badges with healthchecks.io's own code.

Run from internal/badge with healthchecks.io's source at HCREF (default
/work/hcref): python3 testdata/hcref.py. It loads hc/lib/badges.py with
stand-ins for the Django modules it imports, and renders
templates/badge.svg as Django does for these placeholders (each
{{ name }} replaced by the HTML-escaped value: django.utils.html.escape
is html.escape), into testdata/<name>.svg.
"""
import html
import os
import re
import sys
import types

HCREF = os.environ.get("HCREF", "/work/hcref")

for name in ["django", "django.conf", "django.core", "django.core.signing",
             "django.template", "django.template.loader", "hc", "hc.lib", "hc.lib.urls"]:
    sys.modules[name] = types.ModuleType(name)
sys.modules["django.conf"].settings = None
sys.modules["django.core.signing"].base64_hmac = None
sys.modules["hc.lib.urls"].absolute_reverse = None

TEMPLATE = open(os.path.join(HCREF, "templates/badge.svg")).read()


def render_to_string(_name, ctx):
    return re.sub(r"\{\{ (\w+) \}\}", lambda m: html.escape(str(ctx[m.group(1)])), TEMPLATE)


sys.modules["django.template.loader"].render_to_string = render_to_string

ns = {}
exec(open(os.path.join(HCREF, "hc/lib/badges.py")).read(), ns)

CASES = {
    "foo-up": ("foo", "up"),
    "dc1-late": ("db@dc1", "late"),
    "vitals-down": ("Vitals", "down"),
    "markup-up": ("<b>&'\"", "up"),
    "unicode-down": ("Prod – Zürich ✓", "down"),
    "wide-late": ("WWW mmm iii --- ___ 0123456789", "late"),
}
for name, (label, status) in CASES.items():
    with open(f"testdata/{name}.svg", "w") as f:
        f.write(ns["get_badge_svg"](label, status))
