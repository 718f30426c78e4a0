"""``credreports summary`` against a stack in the emulator: the stored summary
of a run that ended, and one computed from the bucket (and said so) for a run
that has not."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.deployed import Deployed, RunCli
from tests.support.ledger import assert_announced_once, assert_every_account_accounted_for


def test_summary_shows_the_stored_summary_as_text_json_and_html(
    deployed: Deployed, run_cli: RunCli, tmp_path: Path
) -> None:
    # Given a run that went to the end
    pipeline = deployed.pipeline()
    run_id = pipeline.start()["run_id"]
    pipeline.drain()
    assert_every_account_accounted_for(
        deployed.resources.bucket, run_id, deployed.organization.ids()
    )
    message, _ = assert_announced_once(pipeline, run_id)

    # When the operator asks for its summary, as text, JSON and HTML
    text = run_cli("summary", *deployed.target)
    document = run_cli("summary", "--run", run_id, "--json", *deployed.target)
    page = tmp_path / "report.html"
    written = run_cli("summary", "--html", str(page), *deployed.target)

    # Then the text is the run's SNS message, the JSON its summary.json, the
    # HTML its report; each exits 0 (complete) and names where it came from
    assert (text.code, document.code, written.code) == (0, 0, 0)
    assert text.out == message.message
    assert "stored s3://" in text.err
    stored = json.loads(document.out)
    assert stored["run_id"] == run_id and stored["complete"] is True
    assert stored["counts"]["reports"] == len(deployed.organization.ids())
    assert f'credreports run <span class="mono">{run_id}</span>' in page.read_text()


def test_summary_of_a_run_not_yet_summarized_is_computed_and_says_so(
    deployed: Deployed, run_cli: RunCli
) -> None:
    # Given a run whose messages are still on the queue
    pipeline = deployed.pipeline()
    run_id = pipeline.start()["run_id"]

    # When the operator asks for its summary
    result = run_cli("summary", "--run", run_id, "--json", *deployed.target)

    # Then it is computed from the bucket, said to be, and not complete
    assert result.code == 1
    assert "no summary stored" in result.err and "not stored, not announced" in result.err
    computed = json.loads(result.out)
    assert computed["complete"] is False
    assert computed["counts"]["outstanding"] == len(deployed.organization.ids())
    # ...and the run still ends as usual, announced once
    pipeline.drain()
    assert_every_account_accounted_for(
        deployed.resources.bucket, run_id, deployed.organization.ids()
    )
    assert_announced_once(pipeline, run_id)
