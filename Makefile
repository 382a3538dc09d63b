# Two entry points, both doing all set-up on a fresh machine (see README).
.PHONY: demo test setup
demo:
	bash scripts/setup.sh
	.venv/bin/earshot demo
test:
	bash scripts/test.sh
setup:
	bash scripts/setup.sh
