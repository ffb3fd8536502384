"""The connector as a Django app: POST /connector/authenticate (JSON) and
/connector/mirroring (SOAP)."""
