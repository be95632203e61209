"""Users, roles, login and lockout: the permission matrix is in ``app.auth.roles``, login and
user management in ``app.auth.service``. (Kept import-free so ``roles`` can be used anywhere.)"""
