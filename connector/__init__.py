"""The connector's side of the app:// handshake (SPEC section 7).

Importable without Django configured: `connector.keys` reads keys in PEM, X.509, .NET RSA XML
and JWK form; the token functions build and check the handshake tokens. `connector.django_app`
is the optional Django app that serves them.
"""
