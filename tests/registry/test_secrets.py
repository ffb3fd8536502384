import pytest

from trustregistry.registry import secrets


def test_demo_secret_hashes_to_erpnet_published_value(interop_json):
    vector = interop_json("secret_hash_vector.json")
    assert secrets.hash_secret(vector["secret"]) == vector["ApplicationSecretHash"]


def test_hex_hash_is_normalised_to_base64(interop_json):
    vector = interop_json("secret_hash_vector.json")
    hex_form = __import__("base64").b64decode(vector["ApplicationSecretHash"]).hex()
    assert secrets.normalise_secret_hash(hex_form.upper()) == vector["ApplicationSecretHash"]
    assert (
        secrets.normalise_secret_hash(f"  {vector['ApplicationSecretHash']} ")
        == vector["ApplicationSecretHash"]
    )


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "DEMO",
        "T/AGymuI51LwjLeIFxRQXOs9IHnupDKs/ajhWODR2C4",
        "z" * 64,
        "T_AGymuI51LwjLeIFxRQXOs9IHnupDKs_ajhWODR2C4=",
    ],
)
def test_malformed_hashes_are_refused(bad):
    with pytest.raises(secrets.SecretHashFormatError):
        secrets.normalise_secret_hash(bad)


def test_secret_matches_only_its_own_hash():
    h = secrets.hash_secret("DEMO")
    assert secrets.secret_matches("DEMO", h)
    assert not secrets.secret_matches("demo", h)


def test_generated_secrets_are_random_and_alphanumeric():
    a, b = secrets.generate_secret(24), secrets.generate_secret(24)
    assert len(a) == 24 and a.isalnum() and a != b


def test_a_hash_in_non_canonical_base64_is_stored_in_the_form_that_can_match():
    canonical = secrets.hash_secret("demo")
    # The last character before "=" carries 2 unused bits: flip one, same 32 bytes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(canonical[42])
    variant = canonical[:42] + alphabet[last ^ 1] + "="
    assert variant != canonical
    assert secrets.normalise_secret_hash(variant) == canonical
