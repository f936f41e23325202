"""Real AWS clients against Shardlab's native endpoint.

`cargo xtask test` starts `shardlab serve --port 0`, sets SHARDLAB_ENDPOINT
and runs this with boto3 and the AWS CLI from PyPI. The clients are used
exactly as against AWS; only the endpoint URL differs.
"""

import json
import os
import subprocess
import unittest
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = os.environ["SHARDLAB_ENDPOINT"]
ENV = dict(
    os.environ,
    AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
    AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
    AWS_DEFAULT_REGION="us-east-1",
)
os.environ.update({k: ENV[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})


def client(retries=1):
    return boto3.client(
        "kinesis",
        endpoint_url=ENDPOINT,
        config=Config(retries={"max_attempts": retries, "mode": "standard"}),
    )


def new_stream(kinesis, shards):
    name = "test-" + uuid.uuid4().hex[:12]
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
    return name


def read_shard(kinesis, name, shard_id):
    """Every record of a shard from TRIM_HORIZON, and the last response."""
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while True:
        r = kinesis.get_records(ShardIterator=it, Limit=300)
        records.extend(r["Records"])
        if not r["Records"] or "NextShardIterator" not in r or r["NextShardIterator"] is None:
            return records, r
        it = r["NextShardIterator"]


class Boto3(unittest.TestCase):
    def setUp(self):
        self.kinesis = client()

    def test_put_a_thousand_and_read_every_shard_back_in_order(self):
        k = self.kinesis
        name = new_stream(k, 4)
        sent = []
        for batch in range(2):
            entries = [
                {"Data": json.dumps({"n": batch * 500 + i}).encode(), "PartitionKey": "user-%d" % ((batch * 500 + i) % 97)}
                for i in range(500)
            ]
            r = k.put_records(StreamName=name, Records=entries)
            self.assertEqual(r["FailedRecordCount"], 0)
            for e, res in zip(entries, r["Records"]):
                sent.append((res["ShardId"], res["SequenceNumber"], e["Data"], e["PartitionKey"]))
        shards = k.list_shards(StreamName=name)["Shards"]
        self.assertEqual(len(shards), 4)
        got = 0
        for shard in shards:
            records, _ = read_shard(k, name, shard["ShardId"])
            expected = [s for s in sent if s[0] == shard["ShardId"]]
            self.assertGreater(len(expected), 0, "1000 keyed records reach every shard")
            self.assertEqual([r["Data"] for r in records], [s[2] for s in expected])
            self.assertEqual([r["SequenceNumber"] for r in records], [s[1] for s in expected])
            self.assertEqual([r["PartitionKey"] for r in records], [s[3] for s in expected])
            seqs = [int(r["SequenceNumber"]) for r in records]
            self.assertEqual(seqs, sorted(seqs))
            got += len(records)
        self.assertEqual(got, 1000)

    def test_split_then_read_parent_before_children(self):
        k = self.kinesis
        name = new_stream(k, 1)
        k.put_record(StreamName=name, Data=b"before", PartitionKey="a")
        shard = k.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]
        mid = (int(shard["HashKeyRange"]["EndingHashKey"]) + 1) // 2
        k.split_shard(StreamName=name, ShardToSplit=shard["ShardId"], NewStartingHashKey=str(mid))
        k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
        shards = k.list_shards(StreamName=name)["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"])
        self.assertIn("EndingSequenceNumber", shards[0]["SequenceNumberRange"])
        self.assertEqual(shards[1]["ParentShardId"], "shardId-000000000000")
        after = k.put_record(StreamName=name, Data=b"after", PartitionKey="a")
        self.assertIn(after["ShardId"], ("shardId-000000000001", "shardId-000000000002"))
        parent, last = read_shard(k, name, "shardId-000000000000")
        self.assertEqual([r["Data"] for r in parent], [b"before"])
        self.assertIsNone(last.get("NextShardIterator"))
        self.assertEqual(sorted(c["ShardId"] for c in last["ChildShards"]), ["shardId-000000000001", "shardId-000000000002"])
        child, _ = read_shard(k, name, after["ShardId"])
        self.assertEqual([r["Data"] for r in child], [b"after"])

    def test_enhanced_fan_out_delivers_records_in_order_over_an_event_stream(self):
        k = self.kinesis
        name = new_stream(k, 1)
        arn = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        consumer = k.register_stream_consumer(StreamARN=arn, ConsumerName="efo-app")["Consumer"]
        described = k.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
        self.assertEqual(described["ConsumerDescription"]["ConsumerStatus"], "ACTIVE")
        sent = [f"event-{i}".encode() for i in range(120)]
        k.put_records(StreamName=name, Records=[{"Data": d, "PartitionKey": "k"} for d in sent])
        shard_id = k.list_shards(StreamName=name)["Shards"][0]["ShardId"]

        response = k.subscribe_to_shard(
            ConsumerARN=consumer["ConsumerARN"],
            ShardId=shard_id,
            StartingPosition={"Type": "TRIM_HORIZON"},
        )
        stream = response["EventStream"]
        got, last = [], None
        for event in stream:
            e = event["SubscribeToShardEvent"]
            got.extend(e["Records"])
            last = e
            if len(got) >= len(sent):
                break
        stream.close()
        self.assertEqual([r["Data"] for r in got], sent)
        seqs = [int(r["SequenceNumber"]) for r in got]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(last["ContinuationSequenceNumber"], got[-1]["SequenceNumber"])
        self.assertEqual(last["MillisBehindLatest"], 0)

        # Subscribing again to the same shard within 5 seconds is refused,
        # as on AWS.
        with self.assertRaises(ClientError) as e:
            k.subscribe_to_shard(
                ConsumerARN=consumer["ConsumerARN"],
                ShardId=shard_id,
                StartingPosition={"Type": "LATEST"},
            )
        self.assertEqual(e.exception.response["Error"]["Code"], "ResourceInUseException")

    def test_throttling_is_visible_when_the_rate_is_exceeded(self):
        k = self.kinesis
        name = new_stream(k, 1)
        failed = 0
        for _ in range(5):
            r = k.put_records(StreamName=name, Records=[{"Data": b"x", "PartitionKey": "k%d" % i} for i in range(500)])
            failed += r["FailedRecordCount"]
            codes = {e.get("ErrorCode") for e in r["Records"]} - {None}
            self.assertLessEqual(codes, {"ProvisionedThroughputExceededException"})
        self.assertGreater(failed, 0)
        # 1 MiB/s per shard: a PutRecords of ~1 MiB empties the byte budget,
        # and a 900 KiB record right after needs most of a second of refill.
        with self.assertRaises(ClientError) as caught:
            for _ in range(5):
                k.put_records(StreamName=name, Records=[{"Data": b"x" * 2100, "PartitionKey": "k%d" % i} for i in range(500)])
                k.put_record(StreamName=name, Data=b"x" * (900 * 1024), PartitionKey="k")
        err = caught.exception.response["Error"]
        self.assertEqual(err["Code"], "ProvisionedThroughputExceededException")
        self.assertEqual(err["Message"], "Rate exceeded for shard shardId-000000000000 in stream %s under account 123456789012." % name)
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_errors_carry_aws_names_and_messages(self):
        k = self.kinesis
        with self.assertRaises(k.exceptions.ResourceNotFoundException) as caught:
            k.describe_stream_summary(StreamName="no-such-stream")
        self.assertEqual(caught.exception.response["Error"]["Message"], "Stream no-such-stream under account 123456789012 not found.")
        name = new_stream(k, 1)
        with self.assertRaises(k.exceptions.ResourceInUseException):
            k.create_stream(StreamName=name, ShardCount=1)
        with self.assertRaises(k.exceptions.InvalidArgumentException) as caught:
            k.get_records(ShardIterator="AAAAAAAAAAFbogus")
        self.assertEqual(caught.exception.response["Error"]["Message"], "Invalid ShardIterator.")
        arn = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
        self.assertEqual(arn, "arn:aws:kinesis:us-east-1:123456789012:stream/%s" % name)
        # StreamARN works wherever AWS accepts it.
        k.put_record(StreamARN=arn, Data=b"by-arn", PartitionKey="p")
        k.delete_stream(StreamName=name)
        k.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})


def firehose_clients():
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, s3={"addressing_style": "path"})
    return (
        boto3.client("firehose", endpoint_url=ENDPOINT, config=cfg),
        boto3.client("s3", endpoint_url=ENDPOINT, config=cfg),
    )


def s3_destination(bucket, interval, **extra):
    d = {
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "BucketARN": "arn:aws:s3:::" + bucket,
        "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": interval},
    }
    d.update(extra)
    return d


class Firehose(unittest.TestCase):
    def setUp(self):
        self.firehose, self.s3 = firehose_clients()

    def test_direct_put_is_buffered_then_lands_in_the_bucket_gzipped(self):
        f, s3 = self.firehose, self.s3
        name = "fh-" + uuid.uuid4().hex[:10]
        bucket = "lab-" + uuid.uuid4().hex[:10]
        arn = f.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration=s3_destination(bucket, 0, CompressionFormat="GZIP", Prefix="raw/"),
        )["DeliveryStreamARN"]
        self.assertEqual(arn, "arn:aws:firehose:us-east-1:123456789012:deliverystream/" + name)
        d = f.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        self.assertEqual(d["DeliveryStreamStatus"], "ACTIVE")
        ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertEqual(ext["BufferingHints"], {"SizeInMBs": 1, "IntervalInSeconds": 0})
        r = f.put_record_batch(DeliveryStreamName=name, Records=[{"Data": b'{"n":%d}\n' % i} for i in range(3)])
        self.assertEqual(r["FailedPutCount"], 0)
        self.assertEqual(len(r["RequestResponses"]), 3)
        f.put_record(DeliveryStreamName=name, Record={"Data": b'{"n":3}\n'})
        # A zero interval seals the buffer at the next look, which the
        # endpoint takes before answering any request (and its ticker takes
        # every 100 ms, so the two calls may have made two objects).
        listing = s3.list_objects_v2(Bucket=bucket, Prefix="raw/")
        keys = [o["Key"] for o in listing.get("Contents", [])]
        self.assertIn(len(keys), (1, 2), listing)
        import gzip
        lines = []
        for key in keys:
            self.assertRegex(key, r"^raw/\d{4}/\d{2}/\d{2}/\d{2}/%s-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}\.gz$" % name)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            lines.extend(gzip.decompress(body).splitlines(keepends=True))
        self.assertEqual(sorted(lines), [b'{"n":%d}\n' % i for i in range(4)])
        folders = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in folders["CommonPrefixes"]], ["raw/"])
        self.assertIn(bucket, [b["Name"] for b in s3.list_buckets()["Buckets"]])
        f.delete_delivery_stream(DeliveryStreamName=name)
        self.assertNotIn(name, f.list_delivery_streams(Limit=100)["DeliveryStreamNames"])

    def test_records_converted_to_parquet_with_a_glue_table(self):
        """JSON in, Parquet out: pyarrow (an independent reader) reads the
        objects with the Glue table's types, and a record that does not fit
        is in the error output."""
        import pyarrow.parquet as pq
        import io
        import datetime
        f, s3 = self.firehose, self.s3
        glue = boto3.client("glue", endpoint_url=ENDPOINT, config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        db = "lab_" + uuid.uuid4().hex[:8]
        glue.create_database(DatabaseInput={"Name": db})
        glue.create_table(DatabaseName=db, TableInput={
            "Name": "Trades",
            "StorageDescriptor": {"Columns": [
                {"Name": "ticker", "Type": "string"},
                {"Name": "price", "Type": "decimal(10,2)"},
                {"Name": "qty", "Type": "int"},
                {"Name": "at", "Type": "timestamp"},
                {"Name": "day", "Type": "date"},
            ]},
        })
        self.assertEqual(glue.get_table(DatabaseName=db, Name="trades")["Table"]["StorageDescriptor"]["Columns"][2], {"Name": "qty", "Type": "int"})
        with self.assertRaises(glue.exceptions.EntityNotFoundException) as caught:
            glue.get_table(DatabaseName=db, Name="nope")
        self.assertEqual(caught.exception.response["Error"]["Message"], "Table nope not found.")
        with self.assertRaises(glue.exceptions.AlreadyExistsException):
            glue.create_database(DatabaseInput={"Name": db})
        name = "fh-pq-" + uuid.uuid4().hex[:8]
        bucket = "lab-" + uuid.uuid4().hex[:10]
        conversion = {
            "SchemaConfiguration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose", "DatabaseName": db, "TableName": "trades"},
            "InputFormatConfiguration": {"Deserializer": {"OpenXJsonSerDe": {}}},
            "OutputFormatConfiguration": {"Serializer": {"ParquetSerDe": {"Compression": "SNAPPY"}}},
        }
        with self.assertRaises(f.exceptions.InvalidArgumentException) as caught:
            f.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=s3_destination(
                bucket, 0, Prefix="t/", DataFormatConversionConfiguration=conversion))
        self.assertEqual(caught.exception.response["Error"]["Message"],
                         "BufferingHints.SizeInMBs must be at least 64 when data format conversion is enabled.")
        f.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration=dict(
            s3_destination(bucket, 0, Prefix="t/", ErrorOutputPrefix="err/!{firehose:error-output-type}/",
                           DataFormatConversionConfiguration=conversion),
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 0}))
        f.put_record_batch(DeliveryStreamName=name, Records=[
            {"Data": b'{"ticker":"AMZN","price":181.505,"qty":10,"at":"2026-12-05T09:30:00.250Z","day":"2026-12-05"}'},
            {"Data": b'{"TICKER":"MSFT","price":"410","qty":"3","at":1796463000}'},
            {"Data": b'{"ticker":"BAD","qty":"lots"}'},
        ])
        keys = []
        for key in (o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])):
            keys.append(key)
        parquet = [k for k in keys if k.startswith("t/")]
        errors = [k for k in keys if k.startswith("err/format-conversion-failed/")]
        self.assertTrue(parquet and errors, keys)
        rows = []
        for key in parquet:
            self.assertTrue(key.endswith(".parquet"), key)
            table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))
            self.assertEqual([(fld.name, str(fld.type)) for fld in table.schema], [
                ("ticker", "string"), ("price", "decimal128(10, 2)"), ("qty", "int32"),
                ("at", "timestamp[ns]"), ("day", "date32[day]")])
            rows.extend(table.to_pylist())
        rows.sort(key=lambda r: r["ticker"])
        import decimal
        self.assertEqual(rows[0]["ticker"], "AMZN")
        self.assertEqual(rows[0]["price"], decimal.Decimal("181.51"))
        self.assertEqual(rows[0]["at"], datetime.datetime(2026, 12, 5, 9, 30, 0, 250000))
        self.assertEqual(rows[0]["day"], datetime.date(2026, 12, 5))
        self.assertEqual((rows[1]["ticker"], rows[1]["price"], rows[1]["qty"], rows[1]["day"]),
                         ("MSFT", decimal.Decimal("410.00"), 3, None))
        self.assertEqual(rows[1]["at"], datetime.datetime(2026, 12, 5, 9, 30))
        doc = json.loads(s3.get_object(Bucket=bucket, Key=errors[0])["Body"].read().splitlines()[0])
        self.assertEqual(doc["lastErrorCode"], "DataFormatConversion.MalformedData")
        self.assertEqual(doc["dataCatalogTable"]["databaseName"], db)
        d = f.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
        self.assertTrue(ext["DataFormatConversionConfiguration"]["Enabled"])
        f.delete_delivery_stream(DeliveryStreamName=name)

    def test_an_http_endpoint_gets_the_records_in_firehoses_format(self):
        """boto3 makes an HTTP endpoint destination; the endpoint POSTs the
        records to a receiver here, gzipped, with Firehose's headers."""
        import base64
        import gzip
        import http.server
        import threading

        got, enough = [], threading.Event()

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = json.loads(body)
                got.append((self.headers, request))
                answer = json.dumps({"requestId": request["requestId"], "timestamp": 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                if sum(len(r["records"]) for _, r in got) >= 3:
                    enough.set()

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        f = self.firehose
        name = "fh-" + uuid.uuid4().hex[:10]
        url = "http://127.0.0.1:%d/in" % server.server_address[1]
        f.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": url, "Name": "here", "AccessKey": "lab-key"},
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                "RequestConfiguration": {"ContentEncoding": "GZIP"},
                "S3Configuration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                    "BucketARN": "arn:aws:s3:::lab-" + uuid.uuid4().hex[:10],
                },
            },
        )
        self.addCleanup(f.delete_delivery_stream, DeliveryStreamName=name)
        d = f.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        h = d["Destinations"][0]["HttpEndpointDestinationDescription"]
        self.assertEqual(h["EndpointConfiguration"], {"Url": url, "Name": "here"})
        self.assertEqual(h["RetryOptions"], {"DurationInSeconds": 300})
        sent = [b'{"n":%d}' % i for i in range(3)]
        f.put_record_batch(DeliveryStreamName=name, Records=[{"Data": r} for r in sent])
        # The endpoint's ticker seals the zero-interval buffer and sends it.
        self.assertTrue(enough.wait(30), got)
        headers, request = got[0]
        self.assertEqual(headers["X-Amz-Firehose-Protocol-Version"], "1.0")
        self.assertEqual(headers["X-Amz-Firehose-Access-Key"], "lab-key")
        self.assertEqual(headers["X-Amz-Firehose-Request-Id"], request["requestId"])
        self.assertEqual(headers["X-Amz-Firehose-Source-Arn"], d["DeliveryStreamARN"])
        records = [base64.b64decode(r["data"]) for _, req in got for r in req["records"]]
        self.assertEqual(records, sent)
        with self.assertRaises(ClientError) as caught:
            f.create_delivery_stream(
                DeliveryStreamName=name + "-x",
                HttpEndpointDestinationConfiguration={
                    "EndpointConfiguration": {"Url": "http://example.com/"},
                    "S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                        "BucketARN": "arn:aws:s3:::b"},
                },
            )
        self.assertIn("Member must satisfy regular expression pattern: https://.*",
                      caught.exception.response["Error"]["Message"])

    def test_redshift_tables_by_the_data_api_and_a_delivery_stream_that_copies(self):
        """The Redshift Data API makes the table; a Redshift delivery stream
        stages objects in its intermediate bucket and writes COPY's manifests."""
        f, s3 = self.firehose, self.s3
        data = boto3.client("redshift-data", endpoint_url=ENDPOINT,
                            config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        cluster = "lab" + uuid.uuid4().hex[:6]
        sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="firehose",
                                     Sql="CREATE TABLE clicks (user_id VARCHAR(16), action VARCHAR(16))")["Id"]
        d = data.describe_statement(Id=sid)
        self.assertEqual(d["Status"], "FINISHED", d)
        self.assertEqual(d["ClusterIdentifier"], cluster)
        sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="firehose",
                                     Sql="CREATE TABLE clicks (a INT)")["Id"]
        d = data.describe_statement(Id=sid)
        self.assertEqual((d["Status"], d["Error"]), ("FAILED", 'ERROR: relation "clicks" already exists'))
        with self.assertRaises(ClientError) as caught:
            data.describe_statement(Id="00000000-0000-4000-8000-000000000000")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")
        name = "fh-" + uuid.uuid4().hex[:10]
        bucket = "staging-" + uuid.uuid4().hex[:10]
        f.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="DirectPut",
            RedshiftDestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "ClusterJDBCURL": "jdbc:redshift://%s.abc123.us-east-1.redshift.amazonaws.com:5439/dev" % cluster,
                "CopyCommand": {"DataTableName": "clicks", "CopyOptions": "JSON 'auto'"},
                "Username": "firehose",
                "Password": "Secret-123",
                "S3Configuration": {
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                    "BucketARN": "arn:aws:s3:::" + bucket,
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                },
            },
        )
        self.addCleanup(f.delete_delivery_stream, DeliveryStreamName=name)
        desc = f.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        r = desc["Destinations"][0]["RedshiftDestinationDescription"]
        self.assertEqual(r["CopyCommand"], {"DataTableName": "clicks", "CopyOptions": "JSON 'auto'"})
        self.assertEqual(r["Username"], "firehose")
        self.assertNotIn("Password", r)
        f.put_record_batch(DeliveryStreamName=name,
                           Records=[{"Data": b'{"user_id":"u%d","action":"buy"}' % i} for i in range(3)])
        # Each call brings the endpoint up to date: the zero-interval buffer
        # is staged, then its manifest written and COPY run.
        s3.list_objects_v2(Bucket=bucket)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
        manifests = [k for k in keys if k.startswith("manifests/")]
        self.assertEqual(len(manifests), 1, keys)
        body = json.loads(s3.get_object(Bucket=bucket, Key=manifests[0])["Body"].read())
        staged = [k for k in keys if not k.startswith("manifests/")]
        self.assertEqual(body, {"entries": [{"url": "s3://%s/%s" % (bucket, staged[0]), "mandatory": True}]})
        # The loaded rows answer a query, read back by the Data API's paginator.
        sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", DbUser="firehose",
                                     Sql="SELECT action, COUNT(*) AS n, MAX(user_id) FROM clicks GROUP BY action")["Id"]
        d = data.describe_statement(Id=sid)
        self.assertEqual((d["Status"], d["HasResultSet"], d["ResultRows"]), ("FINISHED", True, 1), d)
        pages = list(data.get_paginator("get_statement_result").paginate(Id=sid))
        self.assertEqual([c["name"] for c in pages[0]["ColumnMetadata"]], ["action", "n", "max"])
        self.assertEqual([c["typeName"] for c in pages[0]["ColumnMetadata"]], ["varchar", "int8", "varchar"])
        self.assertEqual([r for p in pages for r in p["Records"]],
                         [[{"stringValue": "buy"}, {"longValue": 3}, {"stringValue": "u2"}]])
        sid = data.execute_statement(ClusterIdentifier=cluster, Database="dev", Sql="SELECT nope FROM clicks")["Id"]
        d = data.describe_statement(Id=sid)
        self.assertEqual(d["Status"], "FAILED")
        self.assertIn("nope", d["Error"])
        with self.assertRaises(ClientError) as caught:
            data.get_statement_result(Id=sid)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")
        with self.assertRaises(ClientError) as caught:
            f.create_delivery_stream(
                DeliveryStreamName=name + "-x",
                RedshiftDestinationConfiguration={
                    "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                    "ClusterJDBCURL": "jdbc:mysql://db:3306/dev",
                    "CopyCommand": {"DataTableName": "clicks"},
                    "Username": "firehose", "Password": "Secret-123",
                    "S3Configuration": {"RoleARN": "arn:aws:iam::123456789012:role/firehose",
                                        "BucketARN": "arn:aws:s3:::" + bucket},
                },
            )
        self.assertIn("clusterJDBCURL", caught.exception.response["Error"]["Message"])

    def test_errors_carry_aws_names_and_messages(self):
        f, s3 = self.firehose, self.s3
        with self.assertRaises(f.exceptions.ResourceNotFoundException) as caught:
            f.put_record(DeliveryStreamName="no-such-firehose", Record={"Data": b"x"})
        self.assertEqual(caught.exception.response["Error"]["Message"], "Firehose no-such-firehose under account 123456789012 not found.")
        with self.assertRaises(f.exceptions.InvalidArgumentException):
            f.create_delivery_stream(
                DeliveryStreamName="fh-bad-" + uuid.uuid4().hex[:6],
                ExtendedS3DestinationConfiguration=s3_destination("lab-x", 60, Prefix="y=!{timestamp:yyyy}/"),
            )
        with self.assertRaises(f.exceptions.InvalidArgumentException) as caught:
            f.create_delivery_stream(
                DeliveryStreamName="fh-lambda-" + uuid.uuid4().hex[:6],
                ExtendedS3DestinationConfiguration=s3_destination("lab-x", 60, ProcessingConfiguration={
                    "Enabled": True,
                    "Processors": [{"Type": "Lambda", "Parameters": [
                        {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:f"}]}],
                }),
            )
        self.assertIn("no Lambda service", caught.exception.response["Error"]["Message"])
        with self.assertRaises(ClientError) as caught:
            s3.get_object(Bucket="no-such-bucket", Key="k")
        self.assertEqual(caught.exception.response["Error"]["Code"], "NoSuchBucket")

    def test_a_kinesis_stream_as_source(self):
        f, s3 = self.firehose, self.s3
        k = client()
        stream = new_stream(k, 2)
        name = "fh-kds-" + uuid.uuid4().hex[:8]
        bucket = "lab-" + uuid.uuid4().hex[:10]
        stream_arn = k.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
        f.create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": "arn:aws:iam::123456789012:role/r"},
            ExtendedS3DestinationConfiguration=s3_destination(bucket, 0),
        )
        with self.assertRaises(f.exceptions.InvalidArgumentException) as caught:
            f.put_record(DeliveryStreamName=name, Record={"Data": b"x"})
        self.assertEqual(
            caught.exception.response["Error"]["Message"],
            "This operation is not permitted on KinesisStreamAsSource delivery stream type.",
        )
        # As on AWS, the delivery stream takes what arrives in the stream
        # after it was created.
        k.put_records(StreamName=stream, Records=[{"Data": b"e%d;" % i, "PartitionKey": "p%d" % i} for i in range(20)])
        # Firehose reads each source shard once a second (AWS's rate), so
        # this waits for the next read: a condition with a deadline.
        import time
        deadline = time.monotonic() + 30
        data = b""
        while time.monotonic() < deadline and len(data) < 20 * 3:
            data = b"".join(
                s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            )
            time.sleep(0.2)
        self.assertEqual(sorted(x for x in data.split(b";") if x), sorted(b"e%d" % i for i in range(20)))


class AwsCli(unittest.TestCase):
    def aws(self, *args):
        out = subprocess.run(
            ["aws", "--endpoint-url", ENDPOINT, "--output", "json", "kinesis", *args],
            env=ENV, capture_output=True, text=True, timeout=120,
        )
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout) if out.stdout.strip() else None

    def test_the_cli_round_trip(self):
        name = "cli-" + uuid.uuid4().hex[:10]
        self.aws("create-stream", "--stream-name", name, "--shard-count", "2")
        self.assertIn(name, self.aws("list-streams")["StreamNames"])
        put = self.aws("put-record", "--stream-name", name, "--partition-key", "k1", "--data", "hello")
        it = self.aws("get-shard-iterator", "--stream-name", name, "--shard-id", put["ShardId"],
                      "--shard-iterator-type", "AT_SEQUENCE_NUMBER", "--starting-sequence-number", put["SequenceNumber"])
        records = self.aws("get-records", "--shard-iterator", it["ShardIterator"])["Records"]
        self.assertEqual(len(records), 1)
        self.assertEqual(records[0]["PartitionKey"], "k1")
        self.assertEqual(records[0]["SequenceNumber"], put["SequenceNumber"])

    def test_firehose_and_s3_from_the_cli(self):
        name = "cli-fh-" + uuid.uuid4().hex[:8]
        bucket = "cli-" + uuid.uuid4().hex[:10]
        def cli(*args):
            out = subprocess.run(["aws", "--endpoint-url", ENDPOINT, *args], env=ENV, capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            return out.stdout
        cli("firehose", "create-delivery-stream", "--delivery-stream-name", name,
            "--extended-s3-destination-configuration", json.dumps(s3_destination(bucket, 0)))
        cli("firehose", "put-record", "--delivery-stream-name", name, "--record", "Data=aGVsbG8K")
        listing = cli("s3", "ls", "--recursive", "s3://" + bucket + "/")
        self.assertRegex(listing, r"\d{4}/\d{2}/\d{2}/\d{2}/%s-1-" % name)


SCENARIOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "static", "scenarios")
# Services the endpoint serves; the export's other commands (IAM, S3 bucket
# creation, Lambda, OpenSearch) reach it too, and must get past the CLI's own
# parameter checks: only the endpoint may refuse them.
SERVED = {"kinesis", "firehose", "glue", "redshift-data"}
CLIENT_SIDE = ("Parameter validation failed", "Unknown options", "Error parsing parameter",
               "Invalid JSON", "usage: aws", "Unable to load paramfile", "the following arguments are required")


def shardlab(*args):
    out = subprocess.run([os.environ["SHARDLAB_BIN"], *args], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError(out.stderr)
    return out.stdout


class MoveToAws(unittest.TestCase):
    """`shardlab aws`: every preset's commands run against the endpoint as
    written, and its CloudFormation template passes cfn-lint."""

    def presets(self):
        return sorted(f for f in os.listdir(SCENARIOS) if f.endswith(".json") and f != "index.json")

    def test_every_presets_cli_commands_run(self):
        import tempfile
        kinesis, (firehose, _) = client(), firehose_clients()
        for preset in self.presets():
            with self.subTest(preset=preset), tempfile.TemporaryDirectory() as work:
                with open(os.path.join(SCENARIOS, preset)) as f:
                    scenario = json.load(f)
                # The endpoint runs no Lambda functions, so it refuses delivery
                # streams with a Lambda processor (after the CLI has parsed them).
                refused = set()
                self.addCleanup(self.remove, kinesis, firehose, scenario)
                steps = json.loads(shardlab("aws", os.path.join(SCENARIOS, preset), "--format", "steps"))
                env = dict(ENV, ACCOUNT="123456789012", REGION="us-east-1")
                for step in steps:
                    if "shell" in step:
                        if step["shell"].startswith("sleep "):
                            continue
                        out = subprocess.run(["sh", "-c", step["shell"]], cwd=work, env=env, capture_output=True, text=True)
                        self.assertEqual(out.returncode, 0, out.stderr)
                    elif "aws" in step:
                        words = [w.replace("${ACCOUNT}", "123456789012").replace("${REGION}", "us-east-1") for w in step["aws"]]
                        out = subprocess.run(["aws", "--endpoint-url", ENDPOINT, *words], cwd=work, env=env,
                                             capture_output=True, text=True, timeout=120)
                        if words[:2] == ["firehose", "create-delivery-stream"] and "This endpoint has no Lambda service" in out.stderr:
                            refused.add(json.loads(words[3])["DeliveryStreamName"])
                        elif words[0] in SERVED:
                            self.assertEqual(out.returncode, 0, f"aws {' '.join(words)[:200]}: {out.stderr}")
                        else:
                            for sign in CLIENT_SIDE:
                                self.assertNotIn(sign, out.stderr, f"aws {' '.join(words)[:200]}")
                name = scenario["stream_name"]
                summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
                self.assertEqual(summary["OpenShardCount"], scenario["shard_count"])
                records = 0
                for shard in kinesis.list_shards(StreamName=name)["Shards"]:
                    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
                    records += len(kinesis.get_records(ShardIterator=it["ShardIterator"])["Records"])
                self.assertEqual(records, 1, "the producer's first record was put")
                for spec in scenario.get("delivery_streams", []):
                    if spec["DeliveryStreamName"] in refused:
                        self.assertIn("lambda_functions", scenario)
                        continue
                    d = firehose.describe_delivery_stream(DeliveryStreamName=spec["DeliveryStreamName"])["DeliveryStreamDescription"]
                    if spec.get("DeliveryStreamType") == "DirectPut":
                        self.assertEqual(d["DeliveryStreamType"], "DirectPut")
                    else:
                        self.assertEqual(d["DeliveryStreamType"], "KinesisStreamAsSource")
                        self.assertEqual(d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"],
                                         summary["StreamARN"])
                self.remove(kinesis, firehose, scenario)

    def remove(self, kinesis, firehose, scenario):
        """What a preset made, so that the next preset of the same name starts clean."""
        for spec in scenario.get("delivery_streams", []):
            try:
                firehose.delete_delivery_stream(DeliveryStreamName=spec["DeliveryStreamName"])
            except ClientError:
                pass
        glue = boto3.client("glue", endpoint_url=ENDPOINT)
        for table in scenario.get("glue_tables", []):
            try:
                glue.delete_database(Name=table["DatabaseName"])
            except ClientError:
                pass
        try:
            kinesis.delete_stream(StreamName=scenario["stream_name"], EnforceConsumerDeletion=True)
        except ClientError:
            return
        kinesis.get_waiter("stream_not_exists").wait(StreamName=scenario["stream_name"], WaiterConfig={"Delay": 1})

    def test_every_presets_template_passes_cfn_lint(self):
        import tempfile
        with tempfile.TemporaryDirectory() as work:
            paths = []
            for preset in self.presets():
                path = os.path.join(work, preset)
                with open(path, "w") as f:
                    f.write(shardlab("aws", os.path.join(SCENARIOS, preset), "--format", "cloudformation"))
                paths.append(path)
            out = subprocess.run(["cfn-lint", *paths], capture_output=True, text=True, timeout=600)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)

    def test_a_bad_format_is_refused(self):
        out = subprocess.run([os.environ["SHARDLAB_BIN"], "aws", os.path.join(SCENARIOS, "clickstream.json"), "--format", "yaml"],
                             capture_output=True, text=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("the formats are script, cloudformation and steps", out.stderr)


if __name__ == "__main__":
    unittest.main()
