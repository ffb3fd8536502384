# Two commands: `make run` serves the registry with demo data; `make test` passes the suite.
# Both create their own virtualenv from pyproject.toml.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
HOST   ?= 127.0.0.1
PORT   ?= 8000

# make run: development mode on the embedded default (SQLite), with the demo connector served
# by the same process (SPEC section 7).
# The address the demo's URLs name: the bound host, or loopback when it binds every address.
URL_HOST := $(if $(filter 0.0.0.0,$(HOST)),127.0.0.1,$(HOST))
DEV_ENV := DJANGO_DEBUG=on \
	TRUSTREGISTRY_ISSUER=http://$(URL_HOST):$(PORT)/id \
	CONNECTOR_APPLICATION_URI=demo.trustregistry.local/connector \
	CONNECTOR_PRIVATE_KEY_FILE=.demo/connector_private_key.pem \
	CONNECTOR_TRUSTED_ISSUER=http://$(URL_HOST):$(PORT)/id \
	CONNECTOR_AAS_JWKS_URL=http://$(URL_HOST):$(PORT)/id/.well-known/openid-configuration/jwks

.PHONY: venv run test chromium lint typecheck messages compile-messages clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# The system checks run once, when the server starts: before load_demo_data the demo
# connector's key file does not exist yet (trustregistry.W003).
run: venv
	$(DEV_ENV) $(BIN)/python manage.py migrate --noinput --skip-checks
	$(DEV_ENV) $(BIN)/python manage.py load_demo_data
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite, browser tests included (they need /usr/bin/chromium: apt-get install chromium).
# DATABASE_URL chooses the database (default SQLite); CACHE_URL the cache.
test: venv chromium
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=trustregistry.settings_test
	$(BIN)/pytest -n 2 -p no:cacheprovider $(PYTEST_ARGS)

# The browser tests drive Debian's chromium (never a downloaded browser). As root on Debian,
# install it; otherwise say how.
chromium:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need Debian's chromium: sudo apt-get install -y chromium"; exit 1; \
	  fi; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy trustregistry connector

# Translations (needs GNU gettext; the tests do not). `make messages` brings the Bulgarian
# catalogues of the registry, keys and aas apps up to date with their sources (the registry's
# templates live in templates/registry and templates/admin/registry, linked in for the run);
# translate the new entries, then `make compile-messages` writes each django.mo beside its .po.
I18N_ENV := DJANGO_SETTINGS_MODULE=trustregistry.settings_test PYTHONPATH=$(CURDIR)
messages: venv
	cd trustregistry/registry && mkdir -p templates/admin \
	  && ln -sfn ../../../templates/registry templates/registry \
	  && ln -sfn ../../../../templates/admin/registry templates/admin/registry \
	  && { $(I18N_ENV) $(CURDIR)/$(BIN)/python $(CURDIR)/manage.py makemessages -l bg --symlinks \
	       --add-location=file; status=$$?; rm -r templates; exit $$status; }
	for app in keys aas; do \
	  (cd trustregistry/$$app && $(I18N_ENV) $(CURDIR)/$(BIN)/python $(CURDIR)/manage.py \
	    makemessages -l bg --add-location=file) || exit 1; \
	done

compile-messages:
	for po in trustregistry/*/locale/bg/LC_MESSAGES/django.po; do \
	  msgfmt --check -o "$${po%.po}.mo" "$$po" || exit 1; \
	done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
