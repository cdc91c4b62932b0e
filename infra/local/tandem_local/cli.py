"""`tandem`: the local cloud's command line (make run = `tandem up`)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from zoneinfo import ZoneInfo

from tandem.adapters.lake_bucket import S3LakeBucket
from tandem.logic import api_keys
from tandem.logic.api_keys import KeyAdminDeps
from tandem.logic.auth import KEY_CACHE_SECONDS
from tandem.logic.errors import PermanentJobError, TandemError
from tandem.logic.lake.intake import tenant_config
from tandem.logic.lake.layout import TENANT_PATTERN
from tandem.logic.lake.sources import EXPORT_SOURCES, sources
from tandem.models.records import ALL_SCOPES, ApiKeySummary
from tandem_local import data, demo, fraud_model, mail, redrive, schedules
from tandem_local.config import AWS_RUNTIME, LocalCloud, local_runtime
from tandem_local.deploy import DeployError, deploy
from tandem_local.emulator import Emulator, EmulatorError
from tandem_local.logs import follow
from tandem_local.proxy import ApiProxy
from tandem_local.stack import Stack

_LAKE_HINT = 'tandem query "SELECT count(*) AS orders FROM orders" --tenant demo'
_STYLED = sys.stdout.isatty()
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if _STYLED else ("", "", "")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _banner(cloud: LocalCloud, key: str, generated: bool, report: demo.SeedReport | None) -> str:
    api, aws = cloud.api_url, cloud.endpoint
    today = datetime.now(UTC).date()
    first, last = (report.first_day, report.last_day) if report else (today, today)
    period = json.dumps({"from": str(first), "to": str(last)})
    lines = [
        "",
        f"{BOLD}Tandem's local cloud is up{RESET}",
        f"  API           {api}",
        f"  AWS endpoint  {aws}   (AWS CLI with the right endpoint and credentials: .venv/bin/tandem aws …)",
        f"  demo API key  {key}" + ("   (new; kept in .local/demo-api-key)" if generated else ""),
    ]
    if report:
        lines.append(
            f"  demo data     tenant 'demo': {report.orders} orders {first} to {last}, "
            f"{report.products} products; {report.source}"
        )
        if report.lake_files:
            lines.append(
                f"  demo lake     {report.lake_files} exports in raw/demo/ (ERP, catalogue, CRM, ads),"
                " curated now by the intake worker (manifests/demo/…)"
            )
            lines.append(f"{' ' * 16}Tandem's checkout since {report.cutover}, the ERP before; {_LAKE_HINT}")
    lines += [
        "",
        f"{BOLD}sync{RESET}     curl -s {api}/health",
        f"         curl -s {api}/openapi.json",
        f"{BOLD}async{RESET}    curl -s -X POST {api}/reports -H 'x-api-key: {key}' "
        f"-H 'content-type: application/json' -H 'Prefer: respond-async' -d '{period}'",
        f"         curl -s {api}/reports/<job_id> -H 'x-api-key: {key}'",
        f"{BOLD}nightly{RESET}  .venv/bin/tandem schedule list",
        f"         .venv/bin/tandem schedule run Nightly --date {today}",
        f"         .venv/bin/tandem aws s3 ls --recursive s3://{_bucket(cloud)}/rollups/",
        f"{BOLD}mail{RESET}     .venv/bin/tandem mail --to {demo.DEMO_REPORT_EMAIL}   (the morning report)",
        "",
        f"{DIM}Function logs follow. Ctrl-C stops everything. After a code change: make redeploy "
        f"(another terminal).{RESET}",
        "",
    ]
    return "\n".join(lines)


def _bucket(cloud: LocalCloud) -> str:
    try:
        return Stack.describe(cloud).outputs.get("DataBucketName", "<DataBucket>")
    except Exception:  # the banner must not fail over a detail
        return "<DataBucket>"


def _runtime_note() -> str:
    runtime = local_runtime()
    if runtime == AWS_RUNTIME:
        return f"Lambda runtime {runtime}, as on AWS"
    return f"Lambda runtime {runtime}, the project's Python; AWS still gets {AWS_RUNTIME}"


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _demo_data(
    cloud: LocalCloud, stack: Stack, args: argparse.Namespace
) -> tuple[demo.SeedReport | None, str, bool]:
    if not args.no_seed and (args.reseed or not demo.is_seeded(cloud, stack)):
        _say("==> seeding demo data")
        return demo.seed(cloud, stack)
    if not args.no_seed:
        _say("    demo data kept from the last run (--reseed to rewrite it, --fresh to start from nothing)")
    # The kept state may hold another demo key (TANDEM_DEMO_API_KEY changed): the printed one must work.
    key, generated = demo.register_demo_key(cloud, stack)
    return None, key, generated


def _demo_nights(cloud: LocalCloud, stack: Stack, first_day: date) -> None:
    """The night over every demo day, in the background (the API answers meanwhile): the lake's
    derived tables and the rollups are there minutes after the first start, as after real nights."""
    from rich.console import Console

    from tandem_local import backfill

    yesterday = datetime.now(ZoneInfo(_reporting_zone(stack))).date() - timedelta(days=1)
    days = backfill.days_between(first_day, yesterday) if first_day <= yesterday else []
    request = backfill.NightlyBackfill(
        function=stack.physical["NightlyFunction"], days=days, tenants=(demo.DEMO_TENANT,), concurrency=2
    )
    _say(f"==> the night over the demo's {len(days)} days, in the background (tandem batch run nightly)")

    def run() -> None:
        started = time.perf_counter()
        try:
            quiet = Console(file=io.StringIO())
            runs = backfill.run_nightly(cloud.client("lambda"), cloud.client("stepfunctions"), request, quiet)
        except Exception as error:  # the emulator stopped under it: nothing to report but that
            _say(f"    demo nights stopped: {error}")
            return
        failed = [run.day.isoformat() for run in runs if run.failed]
        seconds, succeeded = time.perf_counter() - started, len(runs) - len(failed)
        _say(
            f"    demo nights done in {seconds:.0f} s: {succeeded} succeeded"
            + (f", failed: {', '.join(failed)}" if failed else "")
        )

    threading.Thread(target=run, name="demo-nights", daemon=True).start()


def _in_flight_origin(args: argparse.Namespace) -> str:
    if args.in_flight:
        return "--in-flight"
    if os.environ.get("TANDEM_API_IN_FLIGHT"):
        return "TANDEM_API_IN_FLIGHT"
    return "2 per core; --in-flight or TANDEM_API_IN_FLIGHT to change"


def _with_api_options(cloud: LocalCloud, args: argparse.Namespace) -> LocalCloud:
    if args.in_flight is not None:
        cloud = dataclasses.replace(cloud, api_in_flight=args.in_flight)
    if args.queue_timeout is not None:
        cloud = dataclasses.replace(cloud, api_queue_timeout=args.queue_timeout)
    return cloud


def cmd_up(cloud: LocalCloud, args: argparse.Namespace) -> int:
    # Ctrl-C, `kill` and a closed terminal all stop everything, even mid-deploy; and
    # SIGINT works even when a shell started us with it ignored (`make run &`).
    for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop_signal, _interrupt)
    cloud = _with_api_options(cloud, args)
    # The emulator keeps its state between runs: a restart redeploys only what changed
    # and finds the demo data in place. --fresh starts from nothing.
    persisted = cloud.state_dir / "emulator"
    if args.fresh:
        shutil.rmtree(persisted, ignore_errors=True)
    emulator = Emulator(cloud, cloud.state_dir / "ministack.log", persist_dir=persisted)
    proxy: ApiProxy | None = None
    try:
        # The API port is taken first: a busy port fails in a second, not after the deploy.
        proxy = ApiProxy(cloud)
        started = time.perf_counter()
        _say(f"==> starting MiniStack on {cloud.endpoint} (log: {emulator.log_path})")
        emulator.start()
        _say(f"==> sam build + sam deploy onto it ({_runtime_note()})")
        deployment = deploy(cloud)
        _say(
            "    build {build:.1f} s, deploy {deploy:.1f} s, glue {glue:.1f} s; routes: ".format(
                **deployment.seconds
            )
            + ", ".join(deployment.routes)
        )
        report, key, generated = _demo_data(cloud, deployment.stack, args)
        proxy.start(deployment.stack.physical["HttpApi"])
        _say(
            f"    API: {cloud.api_in_flight} requests at a time to the emulator "
            f"({_in_flight_origin(args)}), the rest queue (503 after {cloud.api_queue_timeout:.0f} s)"
        )
        _say(f"    ready in {time.perf_counter() - started:.1f} s")
        _say(_banner(cloud, key, generated, report))
        if report and report.first_day and not args.no_demo_nights:
            _demo_nights(cloud, deployment.stack, report.first_day)
        if args.no_logs:
            threading.Event().wait()  # until a signal
        else:
            follow(cloud, deployment.stack, threading.Event())
    except KeyboardInterrupt:
        pass
    except OSError as error:
        _say(f"error: API port {cloud.api_port}: {error.strerror} (choose another: API_PORT=… / --api-port)")
        return 1
    except (EmulatorError, DeployError) as error:
        _say(f"error: {error}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave the emulator running.
        for stop_signal in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)
        _say("\n==> stopping")
        try:
            if proxy:
                proxy.stop()
        finally:
            left = emulator.stop()
        _say("    stopped" + (f"; {left} processes would not die: see `ps`" if left else ": no process left"))
    return 0


def _stack(cloud: LocalCloud) -> Stack:
    try:
        return Stack.describe(cloud)
    except Exception as error:  # any failure here means the same thing to the user
        raise SystemExit(f"no local stack at {cloud.endpoint}: is `make run` running? ({error})") from None


def cmd_deploy(cloud: LocalCloud, _: argparse.Namespace) -> int:
    deployment = deploy(cloud, quiet=False)
    _say(
        "redeployed: build {build:.1f} s, deploy {deploy:.1f} s, glue {glue:.1f} s".format(
            **deployment.seconds
        )
    )
    return 0


def cmd_seed(cloud: LocalCloud, _: argparse.Namespace) -> int:
    report, key, _ = demo.seed(cloud, _stack(cloud))
    _say(f"seeded {report.orders} orders and {report.products} products ({report.source}); API key {key}")
    for reason, count in report.skipped.most_common():
        _say(f"  left out {count:>6} rows: {reason}")
    return 0


def cmd_reset(cloud: LocalCloud, _: argparse.Namespace) -> int:
    emptied = data.empty_all(cloud, _stack(cloud))
    _say(
        f"emptied: {emptied.items} items, {emptied.objects} objects, {emptied.queues} queues; the stack stays"
    )
    return 0


def cmd_schedule_list(cloud: LocalCloud, _: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    for schedule in schedules.schedules(cloud, _stack(cloud)):
        _say(
            f"{BOLD}{schedule.name}{RESET}  {schedule.expression}  {schedule.timezone}"
            f"  -> {schedule.target_arn.rsplit(':', 1)[-1]}"
        )
        for moment in schedule.next_fires(now):
            _say(f"    next: {moment:%Y-%m-%d %H:%M %Z}  ({moment.astimezone(UTC):%H:%M} UTC)")
    _say(f"{DIM}The emulator evaluates cron() in UTC; AWS uses the time zone shown.{RESET}")
    return 0


def cmd_schedule_run(cloud: LocalCloud, args: argparse.Namespace) -> int:
    stack = _stack(cloud)
    schedule = schedules.find(cloud, stack, args.name)
    day = date.fromisoformat(args.date) if args.date else None
    event, result = schedules.run(cloud, schedule, day)
    _say(f"event:  {json.dumps(event)}")
    _say(f"result: {json.dumps(result, indent=2)}")
    return 0


def cmd_logs(cloud: LocalCloud, args: argparse.Namespace) -> int:
    stack = _stack(cloud)
    if args.function and args.function not in stack.functions():
        raise SystemExit(
            f"no function {args.function!r}; the stack has: {', '.join(sorted(stack.functions()))}"
        )
    stop = threading.Event()
    since = int((time.time() - args.since * 60) * 1000)
    with contextlib.suppress(KeyboardInterrupt):
        follow(cloud, stack, stop, only=args.function, since_ms=since)
    return 0


def _key_admin(cloud: LocalCloud) -> KeyAdminDeps:
    """The key table of the running stack, managed by the rules of tandem.logic.api_keys."""
    from tandem.adapters.directory_tables import ApiKeysTable

    stack = _stack(cloud)
    return KeyAdminDeps(
        keys=ApiKeysTable(stack.physical["ApiKeysTable"], cloud.resource("dynamodb")),
        clock=lambda: datetime.now(UTC),
        new_id=lambda: uuid.uuid4().hex,
    )


def _key_line(key: ApiKeySummary) -> str:
    until = f"  until {key.expires_at:%Y-%m-%d %H:%M:%S} UTC" if key.expires_at else ""
    return (
        f"{key.key_id:<26} {key.tenant_id:<20} {key.status:<9} {key.created_at:%Y-%m-%d %H:%M}  "
        f"{','.join(sorted(key.scopes))}{until}"
    )


def cmd_keys_create(cloud: LocalCloud, args: argparse.Namespace) -> int:
    issued = api_keys.create_key(
        args.tenant, args.scope or sorted(ALL_SCOPES), _key_admin(cloud), args.key_id
    )
    print(f"created {_key_line(issued.key)}", file=sys.stderr)
    _say(issued.secret)  # alone on stdout, so a script can take it; shown this once, never stored
    return 0


def cmd_keys_list(cloud: LocalCloud, args: argparse.Namespace) -> int:
    listed = api_keys.list_keys(args.tenant, _key_admin(cloud))
    if args.json:
        _say(json.dumps([key.model_dump(mode="json") for key in listed], indent=2, sort_keys=True))
        return 0
    _say(f"{'KEY ID':<26} {'TENANT':<20} {'STATUS':<9} {'CREATED (UTC)':<16}  SCOPES")
    for key in listed:
        _say(_key_line(key))
    return 0


def cmd_keys_revoke(cloud: LocalCloud, args: argparse.Namespace) -> int:
    revoked = api_keys.revoke_key(args.key_id, _key_admin(cloud))
    _say(f"revoked {_key_line(revoked)}")
    _say(f"{DIM}refused by every authorizer within {KEY_CACHE_SECONDS:.0f} s (its cache of keys){RESET}")
    return 0


def cmd_keys_rotate(cloud: LocalCloud, args: argparse.Namespace) -> int:
    issued, old = api_keys.rotate_key(args.key_id, _key_admin(cloud), args.overlap)
    print(f"created {_key_line(issued.key)}", file=sys.stderr)
    print(f"old     {_key_line(old)}", file=sys.stderr)
    _say(issued.secret)
    return 0


def cmd_redrive(cloud: LocalCloud, args: argparse.Namespace) -> int:
    dead_letters, source = redrive.source_of(cloud, _stack(cloud), args.queue)
    _say(f"moved {redrive.redrive(cloud, dead_letters, source)} messages from {args.queue} back to {source}")
    return 0


def _dlq_cloud(cloud: LocalCloud, args: argparse.Namespace) -> tuple[redrive.Cloud, Stack]:
    """The local cloud, or with --stack a stack on AWS (the caller's own credentials and region)."""
    if args.stack:
        target = redrive.AwsCloud(args.stack, args.region)
        return target, Stack.describe(target)
    return cloud, _stack(cloud)


def _age(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    return (
        f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
        if seconds >= 86400
        else (
            f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
            if seconds >= 3600
            else f"{seconds // 60}m{seconds % 60:02d}s"
        )
    )


def cmd_dlq_list(cloud: LocalCloud, args: argparse.Namespace) -> int:
    target, stack = _dlq_cloud(cloud, args)
    rows = [redrive.depth(target, queue) for queue in redrive.dead_letter_queues(target, stack).values()]
    _say(f"{'DLQ':<30} {'depth':>6} {'in flight':>9} {'oldest':>8}  redrives to")
    for row in rows:
        _say(
            f"{row.queue.name:<30} {row.visible:>6} {row.in_flight:>9} {_age(row.oldest_age):>8}  "
            f"{row.queue.source or '- (re-run the work)'}"
        )
    return 0


def cmd_dlq_show(cloud: LocalCloud, args: argparse.Namespace) -> int:
    target, stack = _dlq_cloud(cloud, args)
    queue = redrive.dead_letter_queue(target, stack, args.queue)
    letters = redrive.peek(target, queue.url, limit=args.limit)
    if args.json:
        print(
            json.dumps(
                [{**dataclasses.asdict(letter), "sent": letter.sent.isoformat()} for letter in letters]
            )
        )
        return 0
    _say(f"{len(letters)} messages in {queue.name} (oldest first)")
    for letter in letters:
        body = letter.body if len(letter.body) <= 300 else letter.body[:300] + "…"
        _say(f"- {letter.message_id}  sent {letter.sent:%Y-%m-%d %H:%M:%S}Z  receives {letter.receives}")
        _say(f"  reason: {letter.reason}")
        _say(f"  body:   {body}")
    return 0


def cmd_dlq_redrive(cloud: LocalCloud, args: argparse.Namespace) -> int:
    target, stack = _dlq_cloud(cloud, args)
    _say(redrive.move_back(target, redrive.dead_letter_queue(target, stack, args.queue)))
    return 0


def _reporting_zone(stack: Stack) -> str:
    """The deployment's ReportingTimezone, the worker's default zone (a parameter left at its
    default may not be echoed back by describe-stacks: the template's default then)."""
    written = stack.processed.get("Parameters", {}).get("ReportingTimezone", {}).get("Default", "UTC")
    return stack.parameters.get("ReportingTimezone") or str(written)


def cmd_ingest(cloud: LocalCloud, args: argparse.Namespace) -> int:
    # Imported here: rich's bars and tables are this command's only; the others start without them.
    from rich.console import Console

    from tandem_local import upload

    stack = _stack(cloud)
    bucket = stack.outputs.get("DataBucketName")
    if not bucket:
        raise SystemExit("the stack has no DataBucketName output: redeploy it (`tandem deploy`)")
    # The tenant's lake configuration, as the worker reads it (its defaults when there is none):
    # the file is dated in the zone, and read with the mapping, the worker will use.
    try:
        config = tenant_config(args.tenant, S3LakeBucket(bucket, cloud.client("s3")))
    except PermanentJobError as broken:
        raise SystemExit(f"error: {broken.message}") from broken
    zone = config.zone or _reporting_zone(stack)
    request = upload.IngestRequest(
        tenant=args.tenant,
        source=sources(config, zone)[args.source],
        paths=[Path(p) for p in args.paths],
        zone=ZoneInfo(zone),
        day=args.date,
        wait=args.wait,
    )
    # soft_wrap: a key or a path is never cut in two (tables still fit the terminal).
    consoles = upload.Consoles(
        Console(highlight=False, soft_wrap=True), Console(stderr=True, highlight=False, soft_wrap=True)
    )
    return upload.ingest(cloud.client("s3"), bucket, request, consoles)


def cmd_query(cloud: LocalCloud, args: argparse.Namespace) -> int:
    # Imported here, like ingest's: rich is this command's, the others start without it.
    from rich.console import Console

    from tandem_local import athena

    stack = _stack(cloud)
    try:
        lake = athena.Lake.of(stack.outputs)
        result = athena.run_query(
            cloud.client("athena"), lake, args.sql, args.tenant or (), timeout=args.timeout
        )
    except (ValueError, athena.QueryFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    athena.render(result, args.format, Console(highlight=False, soft_wrap=True), sys.stdout)
    # On stderr: the rows on stdout stay exactly the CSV or JSON asked for.
    print(result.summary(), file=sys.stderr)
    if not args.tenant and athena.states_no_tenant(args.sql):
        print(
            "note: AWS refuses this query: a lake table's tenant must be stated "
            "(tenant = '…' or tenant IN (…) in the SQL, or --tenant); the emulator ignores that",
            file=sys.stderr,
        )
    return 0


def _night_days(args: argparse.Namespace) -> list[date]:
    """--date D, or --from D1 --to D2 (both): the dates of a nightly backfill, checked before the stack."""
    from tandem_local import backfill

    if args.date and (args.first or args.last):
        raise SystemExit("error: --date or --from/--to, not both")
    if not args.date and not (args.first and args.last):
        raise SystemExit("error: say which days: --date D, or --from D1 --to D2")
    try:
        return backfill.days_between(args.date or args.first, args.date or args.last)
    except backfill.BackfillError as refused:
        raise SystemExit(f"error: {refused}") from None


def cmd_batch_run_nightly(cloud: LocalCloud, args: argparse.Namespace) -> int:
    # Imported here, like ingest's: rich is this command's, the others start without it.
    from rich.console import Console

    from tandem_local import backfill

    days = _night_days(args)
    stack = _stack(cloud)
    function = stack.physical.get("NightlyFunction")
    if not function:
        raise SystemExit("the stack has no NightlyFunction: redeploy it (`tandem deploy`)")
    try:
        # NightlyFunction's zone is the deployment's ReportingTimezone: "finished" is judged there.
        backfill.refuse_unfinished(days, ZoneInfo(_reporting_zone(stack)), datetime.now(UTC))
    except backfill.BackfillError as refused:
        raise SystemExit(f"error: {refused}") from None
    request = backfill.NightlyBackfill(
        function=function,
        days=days,
        tenants=args.tenant or (),
        concurrency=args.concurrency,
        wait=not args.no_wait,
    )
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    runs = backfill.run_nightly(cloud.client("lambda"), cloud.client("stepfunctions"), request, err)
    # soft_wrap: an execution ARN is never cut in two (it is there to be copied).
    return backfill.summary(runs, Console(highlight=False, soft_wrap=True), waited=request.wait)


def _data_bucket(cloud: LocalCloud) -> str:
    bucket = _stack(cloud).outputs.get("DataBucketName")
    if not bucket:
        raise SystemExit("the stack has no DataBucketName output: redeploy it (`tandem deploy`)")
    return bucket


def cmd_model_list(cloud: LocalCloud, _: argparse.Namespace) -> int:
    for line in fraud_model.list_lines(cloud.client("s3"), _data_bucket(cloud)):
        _say(line)
    return 0


def cmd_model_promote(cloud: LocalCloud, args: argparse.Namespace) -> int:
    _say(fraud_model.promote_version(cloud.client("s3"), _data_bucket(cloud), args.version))
    return 0


def cmd_model_rollback(cloud: LocalCloud, _: argparse.Namespace) -> int:
    _say(fraud_model.roll_back(cloud.client("s3"), _data_bucket(cloud)))
    return 0


def cmd_restore(cloud: LocalCloud, args: argparse.Namespace) -> int:
    from tandem_local import restore

    stack = _stack(cloud)
    bucket = stack.outputs.get("DataBucketName")
    if not bucket:
        raise SystemExit("the stack has no DataBucketName output: redeploy it (`tandem deploy`)")
    tables = stack.of_type("AWS::DynamoDB::Table")
    return restore.restore(
        tables,
        bucket,
        args.date,
        args.table,
        cloud.client("dynamodb"),
        cloud.client("s3"),
        lambda line: print(line, file=sys.stderr if line.startswith("error") else sys.stdout),
    )


def cmd_mail(cloud: LocalCloud, args: argparse.Namespace) -> int:
    """The newest mail the local SES kept (the morning reports): nothing leaves the machine."""
    messages = mail.sent_mail(cloud, args.to)[-args.last :]
    if not messages:
        print("no mail sent yet" + (f" to {args.to}" if args.to else ""))
    for message in messages:
        print(f"{BOLD}To: {', '.join(message.get('To') or [])}  Subject: {message.get('Subject')}{RESET}")
        print(message.get("BodyText") or message.get("BodyHtml") or "")
    return 0


def cmd_report_resend(cloud: LocalCloud, args: argparse.Namespace) -> int:
    """The morning report of (tenant, date) queued again, made and mailed anew (the night never
    mails a day twice)."""
    from tandem.adapters.directory_tables import TenantsTable
    from tandem.adapters.jobs_table import JobsTable
    from tandem.adapters.queue import S3ClaimChecks, SqsQueue
    from tandem.logic.morning_report import MorningQueueDeps, queue_morning_report

    stack = _stack(cloud)
    dynamodb = cloud.resource("dynamodb")
    deps = MorningQueueDeps(
        jobs=JobsTable(stack.physical["JobsTable"], dynamodb),
        queue=SqsQueue(
            stack.physical["ReportQueue"],
            cloud.client("sqs"),
            claims=S3ClaimChecks(stack.physical["DataBucket"], cloud.client("s3")),
        ),
        tenants=TenantsTable(stack.physical["TenantsTable"], dynamodb),
        clock=lambda: datetime.now(UTC),
    )
    counts = queue_morning_report(args.tenant, args.date, deps, resend=True)
    print(json.dumps(counts))
    return 0


def cmd_aws(cloud: LocalCloud, args: argparse.Namespace) -> int:
    """The AWS CLI, pointed at the emulator (v1 ignores AWS_ENDPOINT_URL for some services: pass it)."""
    environment = {**os.environ, **cloud.aws_environment()}
    binary = Path(sys.executable).parent / "aws"
    return subprocess.call([str(binary), "--endpoint-url", cloud.endpoint, *args.arguments], env=environment)


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text}: must be above 0")
        return value

    return parse


def _tenant(text: str) -> str:
    if not TENANT_PATTERN.match(text):
        raise argparse.ArgumentTypeError(f"{text!r}: a tenant id is lower-case letters, digits and '-'")
    return text


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: a date is YYYY-MM-DD") from None


_DURATION = re.compile(r"^(\d+)([smhd]?)$")
_UNITS = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: a duration is a number and s, m, h or d (e.g. 24h)")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _key_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True, type=_tenant)
    parser.add_argument("--key-id", help="a name for the key, unique (default: TENANT-<12 hex digits>)")
    parser.add_argument(
        "--scope", action="append", choices=sorted(ALL_SCOPES), help="repeatable; default: all"
    )
    parser.set_defaults(run=cmd_keys_create)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tandem", description=__doc__)
    parser.add_argument(
        "--aws-port", type=int, help="the emulator's port (env TANDEM_AWS_PORT, default 4566)"
    )
    parser.add_argument("--api-port", type=int, help="the API's port (env TANDEM_API_PORT, default 3000)")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the emulator, deploy, seed, serve the API, follow the logs")
    up.add_argument("--no-seed", action="store_true", help="deploy without demo data")
    up.add_argument("--reseed", action="store_true", help="rewrite the demo data even if it is there")
    up.add_argument(
        "--no-demo-nights",
        action="store_true",
        help="after seeding, do not run the night over the demo's days in the background",
    )
    up.add_argument("--fresh", action="store_true", help="forget the emulator's saved state first")
    up.add_argument("--no-logs", action="store_true", help="do not follow the functions' logs")
    up.add_argument(
        "--in-flight",
        type=_positive(int),
        help="API requests forwarded to the emulator at once, the rest queue "
        "(env TANDEM_API_IN_FLIGHT, default 2 per core)",
    )
    up.add_argument(
        "--queue-timeout",
        type=_positive(float),
        help="seconds a queued API request may wait before a 503 (env TANDEM_API_QUEUE_TIMEOUT, default 60)",
    )
    up.set_defaults(run=cmd_up)
    commands.add_parser("deploy", help="build and redeploy onto the running emulator").set_defaults(
        run=cmd_deploy
    )
    commands.add_parser("seed", help="write the demo tenant, key, catalogue and orders").set_defaults(
        run=cmd_seed
    )
    commands.add_parser("reset", help="empty every table, bucket and queue; keep the stack").set_defaults(
        run=cmd_reset
    )

    schedule = commands.add_parser("schedule", help="the stack's schedules").add_subparsers(
        dest="action", required=True
    )
    schedule.add_parser("list", help="expression, time zone, next fire times").set_defaults(
        run=cmd_schedule_list
    )
    fire = schedule.add_parser("run", help="invoke a schedule's target now, as if it fired on DATE")
    fire.add_argument("name", help="the event name in template.yaml, e.g. Nightly")
    fire.add_argument("--date", help="YYYY-MM-DD: the day it fires (default: now)")
    fire.set_defaults(run=cmd_schedule_run)

    logs = commands.add_parser("logs", help="follow the functions' logs")
    logs.add_argument("function", nargs="?", help="a function's logical id, e.g. ApiFunction (default: all)")
    logs.add_argument("--since", type=float, default=10, help="minutes of history to show first (default 10)")
    logs.set_defaults(run=cmd_logs)

    move = commands.add_parser("redrive", help="move a DLQ's messages back to their queue")
    move.add_argument("queue", help="the DLQ's logical id, e.g. ReportDeadLetterQueue")
    move.set_defaults(run=cmd_redrive)

    dlq = commands.add_parser(
        "dlq", help="the stack's dead-letter queues (local, or on AWS with --stack)"
    ).add_subparsers(dest="dlq_command", required=True)
    dlq_list = dlq.add_parser("list", help="each DLQ: depth, oldest message's age, where it redrives to")
    dlq_show = dlq.add_parser("show", help="a DLQ's messages with their failure reason (left in the queue)")
    dlq_show.add_argument("queue", help="the DLQ's logical id, e.g. ReportDeadLetterQueue")
    dlq_show.add_argument("--limit", type=int, default=20, help="messages to show (default 20)")
    dlq_show.add_argument("--json", action="store_true", help="one JSON array")
    dlq_move = dlq.add_parser("redrive", help="move a DLQ's messages back to its source queue")
    dlq_move.add_argument("queue", help="the DLQ's logical id, e.g. ReportDeadLetterQueue")
    for sub, run in ((dlq_list, cmd_dlq_list), (dlq_show, cmd_dlq_show), (dlq_move, cmd_dlq_redrive)):
        sub.add_argument("--stack", help="a stack on AWS (your credentials); default: the local cloud")
        sub.add_argument("--region", help="with --stack: its region (default: your AWS configuration's)")
        sub.set_defaults(run=run)

    aws = commands.add_parser(
        "aws", help="the AWS CLI against the emulator, e.g. `tandem aws sqs list-queues`"
    )
    aws.add_argument("arguments", nargs=argparse.REMAINDER)
    aws.set_defaults(run=cmd_aws)

    ingest = commands.add_parser(
        "ingest", help="upload a tenant's raw files (files or folders) to the lake, under their date"
    )
    ingest.add_argument("--tenant", required=True, type=_tenant)
    ingest.add_argument("--source", required=True, choices=EXPORT_SOURCES)
    ingest.add_argument(
        "--date", type=_day, help="YYYY-MM-DD for every file (default: the one day each file's rows hold)"
    )
    ingest.add_argument(
        "--wait",
        type=_positive(float),
        metavar="SECONDS",
        help="wait up to SECONDS for the worker's manifests and print what it made of each file",
    )
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help="a file, or a folder (its .csv, .jsonl … files, recursively)"
    )
    ingest.set_defaults(run=cmd_ingest)

    query = commands.add_parser(
        "query", help="run SQL over the lake through Athena (the stack's workgroup and database)"
    )
    query.add_argument("sql", help='e.g. "SELECT date, sum(amount) AS revenue FROM order_lines GROUP BY 1"')
    query.add_argument(
        "--tenant",
        action="append",
        type=_tenant,
        help="repeatable: read the lake's tables as these tenants' rows only (Athena needs the "
        "tenant stated: here, or as tenant = '…' in the SQL)",
    )
    query.add_argument("--format", choices=("table", "csv", "json"), default="table")
    query.add_argument(
        "--timeout", type=_positive(float), default=300, help="seconds before the query is stopped (300)"
    )
    query.set_defaults(run=cmd_query)

    # `batch run JOB`: one job per subcommand, so the next batch job (and `batch list` or the
    # like) gets a place beside the night without another top-level command.
    batch = commands.add_parser("batch", help="batch jobs over many days").add_subparsers(
        dest="action", required=True
    )
    jobs = batch.add_parser("run", help="run a batch job").add_subparsers(dest="job", required=True)
    nightly = jobs.add_parser(
        "nightly",
        help="re-run the night for past days (a backfill): NightlyFunction per date, N executions at a time",
    )
    nightly.add_argument(
        "--tenant", action="append", type=_tenant, help="repeatable: only these tenants (default: all)"
    )
    nightly.add_argument("--date", type=_day, help="YYYY-MM-DD: one day")
    nightly.add_argument("--from", dest="first", type=_day, metavar="D1", help="YYYY-MM-DD: the first day")
    nightly.add_argument(
        "--to", dest="last", type=_day, metavar="D2", help="YYYY-MM-DD: the last day, included"
    )
    nightly.add_argument(
        "--concurrency",
        type=_positive(int),
        default=4,
        metavar="N",
        help="executions running at once; the next date starts when one ends (default 4)",
    )
    nightly.add_argument(
        "--no-wait",
        action="store_true",
        help="return once the last date is started, without waiting for the last executions",
    )
    nightly.set_defaults(run=cmd_batch_run_nightly)

    model = commands.add_parser("model", help="the fraud model's versions").add_subparsers(
        dest="model_command", required=True
    )
    model.add_parser("list", help="published versions, their figures, which is current").set_defaults(
        run=cmd_model_list
    )
    promote = model.add_parser("promote", help="make a published version current (the gate not asked)")
    promote.add_argument("version")
    promote.set_defaults(run=cmd_model_promote)
    model.add_parser(
        "rollback", help="make the version promoted before the current one current"
    ).set_defaults(run=cmd_model_rollback)
    back = commands.add_parser(
        "restore",
        help="write a backup (backups/DATE/ in the data bucket) back into EMPTY tables, checksums first",
    )
    back.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD: the backup's date")
    back.add_argument("--table", help="only this table (its logical name, e.g. OrdersTable)")
    back.set_defaults(run=cmd_restore)
    letters = commands.add_parser(
        "mail", help="the mail the local SES sent (the morning reports), newest last"
    )
    letters.add_argument(
        "--to", help="only the mail to this address (the demo's: owner@demo-gift-shop.example)"
    )
    letters.add_argument("--last", type=int, default=1, help="how many of the newest to show (default 1)")
    letters.set_defaults(run=cmd_mail)

    report = commands.add_parser("report", help="the morning report").add_subparsers(
        dest="report_command", required=True
    )
    resend = report.add_parser(
        "resend", help="queue a day's morning report again: made and mailed anew (the night mails a day once)"
    )
    resend.add_argument("--tenant", required=True, type=_tenant)
    resend.add_argument("--date", required=True, type=_day, help="YYYY-MM-DD: the report's day")
    resend.set_defaults(run=cmd_report_resend)

    keys = commands.add_parser(
        "keys", help="API keys: create, list, rotate, revoke (secrets are printed once, never stored)"
    ).add_subparsers(dest="keys_command", required=True)
    create = keys.add_parser("create", help="a new key for a tenant; prints its secret (alone on stdout)")
    _key_options(create)
    listing = keys.add_parser("list", help="key id, tenant, status, created, scopes: never a secret or hash")
    listing.add_argument("--tenant", type=_tenant, help="only this tenant's keys")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_keys_list)
    rotate = keys.add_parser(
        "rotate", help="a new key with the same scopes; the old one works for --overlap more, then fails"
    )
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--overlap",
        type=_duration,
        default=api_keys.DEFAULT_OVERLAP,
        help="how long the old key still works: 24h (default), 90m, 30s, 2d, 0 (at once)",
    )
    rotate.set_defaults(run=cmd_keys_rotate)
    revoke = keys.add_parser("revoke", help="make a key inactive now (each authorizer within 30 s)")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=cmd_keys_revoke)
    # The command before `keys`, kept for scripts that use it.
    _key_options(commands.add_parser("api-key", help="the same as `keys create`"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    cloud = LocalCloud.from_env(aws_port=args.aws_port, api_port=args.api_port)
    run: Callable[[LocalCloud, argparse.Namespace], int] = args.run
    try:
        return run(cloud, args)
    except (schedules.ScheduleError, redrive.RedriveError, DeployError, TandemError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
