# Infrastructure targets. The main Makefile includes this file:
#     include infra.mk
#
#   make test-infra      cfn-lint, sam validate --lint, checkov, sam build + import
#                        of every built handler, the emulator stack test and the
#                        policy-vs-code test (pytest tests/infra)
#   make lint-infra      cfn-lint on both templates
#   make validate-infra  sam validate --lint
#   make checkov-infra   checkov on both templates
#   make build-infra     sam build (what `sam deploy` uploads)
#
# Each tool lives in its own virtual environment under build/ (git-ignored),
# created on first use by uv from the pinned requirements/infra-*.txt and
# rebuilt when they change. No Docker, no AWS account: only PyPI is reached.

# Included anywhere, this file leaves the including Makefile's default goal alone.
_INFRA_DEFAULT_GOAL := $(.DEFAULT_GOAL)

INFRA_PYTHON ?= python3
INFRA_VENVS ?= build
VENV_INFRA := $(INFRA_VENVS)/venv-infra
VENV_SAM := $(INFRA_VENVS)/venv-sam
VENV_CHECKOV := $(INFRA_VENVS)/venv-checkov
INFRA_TEMPLATES := template.yaml templates/report-bucket.yaml
INFRA_PIP := --quiet --disable-pip-version-check --no-input
INFRA_TOOL_ENV := env -u AWS_ENDPOINT_URL -u AWS_PROFILE SAM_CLI_TELEMETRY=0 \
	AWS_DEFAULT_REGION=us-east-1 BC_SKIP_MAPPING=TRUE

VENV_UV := $(INFRA_VENVS)/venv-uv
UV := $(VENV_UV)/bin/uv

$(VENV_UV)/.installed: requirements/infra-uv.txt
	rm -rf $(VENV_UV)
	$(INFRA_PYTHON) -m venv $(VENV_UV)
	$(VENV_UV)/bin/pip install $(INFRA_PIP) -r requirements/infra-uv.txt
	touch $@

# $(call infra-venv,DIR,REQUIREMENTS)
define infra-venv
	rm -rf $(1)
	$(UV) venv --quiet --python $(INFRA_PYTHON) $(1)
	VIRTUAL_ENV=$(abspath $(1)) $(UV) pip install --quiet --compile-bytecode -r $(2)
	touch $(1)/.installed
endef

$(VENV_INFRA)/.installed: requirements/infra-tools.txt requirements/infra-lambda.txt constraints.txt $(VENV_UV)/.installed
	$(call infra-venv,$(VENV_INFRA),requirements/infra-tools.txt)

$(VENV_SAM)/.installed: requirements/infra-sam.txt $(VENV_UV)/.installed
	$(call infra-venv,$(VENV_SAM),requirements/infra-sam.txt)

$(VENV_CHECKOV)/.installed: requirements/infra-checkov.txt $(VENV_UV)/.installed
	$(call infra-venv,$(VENV_CHECKOV),requirements/infra-checkov.txt)

.PHONY: infra-tools test-infra lint-infra validate-infra checkov-infra build-infra

infra-tools: $(VENV_INFRA)/.installed $(VENV_SAM)/.installed $(VENV_CHECKOV)/.installed

test-infra: infra-tools
	CREDREPORTS_INFRA_STRICT=1 \
	CREDREPORTS_CFN_LINT=$(abspath $(VENV_INFRA))/bin/cfn-lint \
	CREDREPORTS_SAM=$(abspath $(VENV_SAM))/bin/sam \
	CREDREPORTS_CHECKOV=$(abspath $(VENV_CHECKOV))/bin/checkov \
	PYTHONPATH=src \
	$(VENV_INFRA)/bin/python -m pytest -p no:cacheprovider tests/infra

lint-infra: $(VENV_INFRA)/.installed
	$(INFRA_TOOL_ENV) $(VENV_INFRA)/bin/cfn-lint $(INFRA_TEMPLATES)

validate-infra: $(VENV_SAM)/.installed
	$(INFRA_TOOL_ENV) $(VENV_SAM)/bin/sam validate --lint --template template.yaml

checkov-infra: $(VENV_CHECKOV)/.installed
	$(INFRA_TOOL_ENV) $(VENV_CHECKOV)/bin/checkov --quiet --compact --skip-download \
		--framework cloudformation $(addprefix -f ,$(INFRA_TEMPLATES))

build-infra: $(VENV_SAM)/.installed
	$(INFRA_TOOL_ENV) $(VENV_SAM)/bin/sam build --template template.yaml

.DEFAULT_GOAL := $(_INFRA_DEFAULT_GOAL)
