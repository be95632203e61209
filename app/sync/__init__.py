"""Sync with the district (client side): signing, bundles, push and pull."""
