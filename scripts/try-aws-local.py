"""The AWS walkthrough, step by step, against moto (run through scripts/try-aws-local.sh).

Each step prints what it does and what came back; any outcome a user would not expect (a submit
refused, a job not Success, a callback missing, a warning at start) stops it with exit code 1.
Everything runs on 127.0.0.1 on free ports and is stopped at the end, whatever happened.

With `--worker-image TAG` the deployment has a worker fleet, as the template's GpuFleet makes it:
a third job (ImageMatting with ModelId u2net, which the routes send to the fleet) is announced
on the fleet's queue, and `process --worker` in the image (podman, host network) takes it from
there while the Lambda runs the other two; the container is stopped with SIGTERM at the end, as
ECS stops a task.
"""

import datetime
import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import unquote_plus, urlparse

import boto3

ROOT = pathlib.Path(__file__).resolve().parent.parent
EVENTS = ROOT / "events"
BIN = ROOT / "target" / "debug"
CARGO_LAMBDA = ROOT / ".iprod" / "aws-venv" / "bin" / "cargo-lambda"
FUNCTIONS = ("submit", "process", "notify")


class Failed(Exception):
    pass


def step(title):
    print(f"\n== {title}", flush=True)


def show(label, value):
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    print(f"   {label}: {text}", flush=True)


def expect(ok, message):
    if not ok:
        raise Failed(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, process, what):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            expect(process.poll() is None, f"{what} exited at start")
            time.sleep(0.1)
    raise Failed(f"{what} did not listen on port {port}")


def read_env_file(path):
    """events/local.env: KEY=VALUE lines; quotes around a value are removed."""
    env = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, value = line.split("=", 1)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


class Walkthrough:
    def __init__(self, work, worker_image=None):
        self.work = pathlib.Path(work)
        self.worker_image = worker_image
        self.processes = []
        self.moto_port = free_port()
        self.lambda_port = free_port()
        endpoint = f"http://127.0.0.1:{self.moto_port}"
        self.env = read_env_file(EVENTS / "local.env")
        # The file's port is the walkthrough's 5000; this run uses free ones.
        self.env["AWS_ENDPOINT_URL"] = endpoint
        self.env["IPROD_QUEUE_URL"] = f"{endpoint}/123456789012/{self.env['IPROD_TABLE']}"
        self.env["IPROD_MODEL_DIR"] = str(ROOT / self.env["IPROD_MODEL_DIR"])
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("AWS_")})
        self.bucket = self.env["IPROD_BUCKETS"].split(",")[0]
        if worker_image:
            self.env["IPROD_FLEET_QUEUE_URL"] = f"{endpoint}/123456789012/iprod-fleet"

    def start(self, name, argv, env=None):
        log = open(self.work / f"{name}.log", "w")
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        self.processes.append((name, process))
        return process

    def log_of(self, name):
        return (self.work / f"{name}.log").read_text(errors="replace")

    def stop(self):
        for _, process in reversed(self.processes):
            process.terminate()
        for _, process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    def invoke(self, function, event, label, quiet=False):
        """`cargo lambda invoke`, as the walkthrough types it; returns the function's answer."""
        path = self.work / f"{label}.json"
        path.write_text(json.dumps(event, indent=2, ensure_ascii=False))
        argv = [str(CARGO_LAMBDA), "lambda", "invoke", function, "-A", "127.0.0.1",
                "-P", str(self.lambda_port), "--data-file", str(path)]
        if not quiet:
            print(f"   $ cargo lambda invoke {function} -A 127.0.0.1 -P {self.lambda_port} --data-file {path.name}")
        done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300)
        expect(done.returncode == 0,
               f"the {function} invocation failed:\n{done.stdout}{done.stderr}\n{function}'s log:\n"
               + self.log_of(function)[-3000:])
        return json.loads(done.stdout)

    # -- the steps -------------------------------------------------------------------------

    def emulator(self):
        step(f"moto on 127.0.0.1:{self.moto_port}, cargo lambda's Runtime API on 127.0.0.1:{self.lambda_port}")
        moto = self.start("moto", [sys.executable, str(ROOT / "scripts/moto-server.py"),
                                   "-H", "127.0.0.1", "-p", str(self.moto_port)])
        wait_for_port(self.moto_port, moto, "moto")
        # --only-lambda-apis: the functions are this checkout's built binaries, started below;
        # --env-file also checks that cargo lambda reads events/local.env.
        apis = self.start("cargo-lambda", [str(CARGO_LAMBDA), "lambda", "watch", "--only-lambda-apis",
                                           "-A", "127.0.0.1", "-P", str(self.lambda_port),
                                           "--env-file", str(EVENTS / "local.env")])
        wait_for_port(self.lambda_port, apis, "cargo lambda watch")

    def resources(self):
        step("the resources the template creates: bucket, queues, the job table")
        boto3.client("s3").create_bucket(Bucket=self.bucket)
        sqs = boto3.client("sqs")
        self.queues = {}
        for name in (self.env["IPROD_TABLE"], "iprod-jobs-dlq", "iprod-callbacks", "iprod-fleet"):
            self.queues[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
        table = self.env["IPROD_TABLE"]
        made = subprocess.run([str(BIN / "examples/create-table"), table], capture_output=True, text=True)
        expect(made.returncode == 0, f"create-table failed: {made.stderr}")
        show("bucket", self.bucket)
        show("queues", ", ".join(self.queues))
        show("table", f"{table} (with the template's indexes and stream, by the create-table example)")

    def functions(self):
        step("the three functions, started as Lambda starts them (logs in " + str(self.work) + ")")
        for name in FUNCTIONS:
            env = dict(os.environ)
            env.update(self.env)
            env.update({
                "AWS_LAMBDA_FUNCTION_NAME": name,
                "AWS_LAMBDA_FUNCTION_VERSION": "1",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008" if name == "process" else "256",
                "AWS_LAMBDA_RUNTIME_API": f"http://127.0.0.1:{self.lambda_port}/.rt/{name}",
                # cargo lambda watch sets this for the functions it starts: start-up must stay clean.
                "AWS_LAMBDA_MAX_CONCURRENCY": "1",
            })
            self.start(name, [str(BIN / name)], env)
            show(name, str(BIN / name))

    def submit(self):
        step("upload the input, then submit (events/submit-http.json)")
        event = json.loads((EVENTS / "submit-http.json").read_text())
        body = dict(p.split("=", 1) for p in event["body"].split("&"))
        source = urlparse(unquote_plus(body["Input"]))
        boto3.client("s3").put_object(Bucket=source.netloc, Key=source.path.lstrip("/"),
                                      Body=(ROOT / ".iprod/test-media/astronaut.png").read_bytes())
        show("uploaded", f"s3://{source.netloc}{source.path}  (the fixture's Input)")
        answer = self.invoke("submit", event, "submit")
        reply = json.loads(answer.get("body") or "{}")
        show("statusCode", answer.get("statusCode"))
        show("body", reply)
        expect(answer.get("statusCode") == 200 and reply.get("JobId"), "the submit was not accepted")
        self.job_id = reply["JobId"]
        if self.worker_image:
            # The same request for ImageMatting with the full U²-Net: the routes' job.
            fleet = dict(event)
            fleet["body"] = (event["body"].replace("FunctionName=ImageH2V", "FunctionName=ImageMatting&ModelId=u2net")
                             .replace("-vertical.jpg", "-cut.png"))
            answer = self.invoke("submit", fleet, "submit-fleet")
            reply = json.loads(answer.get("body") or "{}")
            show("u2net job", reply)
            expect(answer.get("statusCode") == 200 and reply.get("JobId"), "the u2net submit was not accepted")
            self.fleet_job_id = reply["JobId"]

    def upload(self):
        step("an upload under the trigger's prefix (events/s3-upload.json) submits its own job")
        event = json.loads((EVENTS / "s3-upload.json").read_text())
        s3 = event["Records"][0]["s3"]
        key = unquote_plus(s3["object"]["key"])
        boto3.client("s3").put_object(Bucket=s3["bucket"]["name"], Key=key,
                                      Body=(ROOT / ".iprod/test-media/astronaut.png").read_bytes())
        show("uploaded", f"s3://{s3['bucket']['name']}/{key}")
        answer = self.invoke("submit", event, "upload")
        show("answer", answer)
        uploads = answer.get("Uploads", [])
        expect(len(uploads) == 1 and uploads[0].get("JobId"), "the upload submitted no job")
        self.upload_job_id = uploads[0]["JobId"]

    def process(self):
        step("process the messages submit really sent (an SQS event built from them)")
        sqs = boto3.client("sqs")
        url = self.queues[self.env["IPROD_TABLE"]]
        messages = []
        for _ in range(10):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                      AttributeNames=["All"]).get("Messages", [])
            messages += got
            if len(messages) >= 2:
                break
        expect(len(messages) == 2, f"expected the two jobs' messages, got {len(messages)}")
        template = json.loads((EVENTS / "process-sqs.json").read_text())["Records"][0]
        records = []
        for m in messages:
            record = dict(template)
            record.update({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"],
                           "body": m["Body"], "md5OfBody": m["MD5OfBody"],
                           "attributes": {**template["attributes"], **m.get("Attributes", {})}})
            records.append(record)
            show("message", m["Body"])
        answer = self.invoke("process", {"Records": records}, "process")
        show("answer", answer)
        expect(answer.get("batchItemFailures") == [], "some messages were left for redelivery")

    def process_in_container(self):
        step(f"the worker container ({self.worker_image}) takes the u2net job from the fleet's queue")
        name = f"iprod-try-{self.lambda_port}"
        argv = [str(ROOT / "scripts/podman.sh"), "run", "--rm", "--name", name, "--network", "host"]
        # The image's own model pack and ffmpeg; everything else as the functions have it.
        image_own = {"IPROD_MODEL_DIR", "IPROD_FFMPEG", "IPROD_FFPROBE"}
        for key, value in self.env.items():
            if key not in image_own:
                argv += ["--env", f"{key}={value}"]
        argv += [self.worker_image, "--worker", "--visibility", "60", "--drain", "5"]
        print("   $ podman run --network host --env … " + self.worker_image + " --worker")
        worker = self.start("worker", argv)
        deadline = time.monotonic() + 180
        for job_id in (self.fleet_job_id,):
            while True:
                state = self.query_job(job_id, "poll", quiet=True).get("State")
                if state in ("Success", "Fail", "Cancelled"):
                    break
                expect(worker.poll() is None, "the worker container exited:\n" + self.log_of("worker")[-3000:])
                expect(time.monotonic() < deadline, f"job {job_id} is still {state} after 3 minutes")
                time.sleep(1)
            show(job_id, state)
        self.worker = (name, worker)

    def full_pack_in_image(self):
        step(f"the image's whole model pack: `iprod run ImageMatting --model u2net` inside it")
        source = ROOT / ".iprod/test-media/astronaut.png"
        argv = [str(ROOT / "scripts/podman.sh"), "run", "--rm", "--network", "none",
                "--volume", f"{source}:/in/astronaut.png:ro", "--entrypoint", "iprod", self.worker_image,
                "run", "ImageMatting", "/in/astronaut.png", "/tmp/cut.png", "--model", "u2net"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        show("iprod run", "; ".join((done.stdout + done.stderr).strip().splitlines()))
        expect(done.returncode == 0, f"ImageMatting with u2net failed in the image:\n{done.stdout}{done.stderr}")

    def stop_container(self):
        step("the worker container stops on SIGTERM (podman stop, as ECS stops a task)")
        name, worker = self.worker
        asked = time.monotonic()
        subprocess.run([str(ROOT / "scripts/podman.sh"), "stop", "--time", "30", name],
                       capture_output=True, text=True)
        code = worker.wait(40)
        took = time.monotonic() - asked
        show("stopped", f"in {took:.1f} s, exit code {code}")
        expect(code == 0 and took < 10, "the worker did not stop cleanly on SIGTERM:\n"
               + self.log_of("worker")[-2000:])

    def notify(self):
        step("notify: the table's stream records of the new callbacks (what the template's filter passes)")
        streams = boto3.client("dynamodbstreams")
        arn = boto3.client("dynamodb").describe_table(TableName=self.env["IPROD_TABLE"])["Table"]["LatestStreamArn"]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for r in streams.get_records(ShardIterator=it)["Records"]:
                if r["eventName"] == "INSERT" and r["dynamodb"]["Keys"]["Id"]["S"].startswith("callback#"):
                    change = r["dynamodb"]
                    if isinstance(change.get("ApproximateCreationDateTime"), datetime.datetime):
                        change["ApproximateCreationDateTime"] = change["ApproximateCreationDateTime"].timestamp()
                    records.append({**r, "eventSourceARN": arn})
        # Only the submitted jobs have a target (their NotifyUrl); the default pipeline has none.
        want = len(self.notified_jobs())
        expect(len(records) == want, f"expected {want} callbacks in the stream, got {len(records)}")
        answer = self.invoke("notify", {"Records": records}, "notify-stream")
        show("answer", answer)
        expect(answer.get("Delivered") == want and answer.get("Retried") == 0, "the stream did not deliver them")

        step("notify: the per-minute sweep (events/notify-schedule.json) finds nothing left to do")
        answer = self.invoke("notify", json.loads((EVENTS / "notify-schedule.json").read_text()), "notify-sweep")
        show("answer", answer)
        expect(not any(answer.values()), "the sweep still had work after the stream delivered")

    def query(self):
        jobs = [(self.job_id, "query"), (self.upload_job_id, "query-upload")]
        if self.worker_image:
            jobs.append((self.fleet_job_id, "query-fleet"))
        for job_id, label in jobs:
            step(f"query job {job_id} (events/query-http.json with this JobId in both places API Gateway puts it)")
            job = self.query_job(job_id, label)
            for field in ("FunctionName", "ModelId", "Runner", "State", "OutputFiles", "Callbacks"):
                show(field, job.get(field, "-"))
            expect(job.get("State") == "Success", f"the job did not succeed: {job}")
            if self.worker_image:
                want = "Fleet" if job_id == getattr(self, "fleet_job_id", None) else "Lambda"
                expect(job.get("Runner") == want, f"the job ran on {job.get('Runner')}, not {want}")
            bucket, key = urlparse_key(job["OutputFiles"][0])
            head = boto3.client("s3").head_object(Bucket=bucket, Key=key)
            show("output object", f"s3://{bucket}/{key} ({head['ContentLength']} bytes)")
            if job_id == self.job_id:
                expect(job["Callbacks"][0]["State"] == "Delivered", "the callback is not Delivered")

    def query_job(self, job_id, label, quiet=False):
        event = json.loads((EVENTS / "query-http.json").read_text())
        old = event["queryStringParameters"]["JobId"]
        event["rawQueryString"] = event["rawQueryString"].replace(old, job_id)
        event["queryStringParameters"]["JobId"] = job_id
        answer = self.invoke("submit", event, label, quiet)
        return json.loads(answer.get("body") or "{}")

    def notified_jobs(self):
        """The jobs submitted with a NotifyUrl."""
        return [self.job_id] + ([self.fleet_job_id] if self.worker_image else [])

    def callback(self):
        step("the callbacks, in the SQS queue the NotifyUrl names")
        sqs = boto3.client("sqs")
        messages = []
        for _ in range(5):
            got = sqs.receive_message(QueueUrl=self.queues["iprod-callbacks"], MaxNumberOfMessages=10,
                                      WaitTimeSeconds=1).get("Messages", [])
            messages += [json.loads(m["Body"]) for m in got]
            if len(messages) >= len(self.notified_jobs()):
                break
        for message in messages:
            show("message", message)
        expect(sorted(m.get("JobId") for m in messages) == sorted(self.notified_jobs()),
               "the callbacks are not the submitted jobs' own")

    def clean_start(self):
        step("start-up logs")
        for name in FUNCTIONS:
            log = self.log_of(name)
            expect("concurrency-tokio" not in log, f"{name} warned at start:\n{log[:2000]}")
        show("warnings", "none")


def urlparse_key(url):
    parsed = urlparse(url)
    return parsed.netloc, parsed.path.lstrip("/")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker-image", help="run the jobs in this worker image (podman) instead of the process Lambda")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="iprod-try-aws-") as work:
        walk = Walkthrough(work, args.worker_image)
        try:
            walk.emulator()
            walk.resources()
            walk.functions()
            walk.submit()
            walk.upload()
            walk.process()
            if args.worker_image:
                walk.process_in_container()
            walk.notify()
            walk.query()
            walk.callback()
            if args.worker_image:
                walk.stop_container()
                walk.full_pack_in_image()
            walk.clean_start()
        except Failed as e:
            print(f"\ntry-aws-local: FAILED: {e}", file=sys.stderr)
            return 1
        finally:
            walk.stop()
    print(f"\ntry-aws-local: the walkthrough passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
