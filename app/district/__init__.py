"""The district server (区局同步服务): squads, device enrollment, push and pull of squads' changes.

:mod:`app.district.service` holds the rules, independent of HTTP; the FastAPI app and the admin
command line are built on it.
"""
