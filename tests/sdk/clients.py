"""Drives IProduction with the cloud's own Python SDKs, as a user moving here would: the old SDK
(aliyun-python-sdk-mts on aliyun-python-sdk-core, signature V2) and the current one
(alibabacloud-mts20140618 on the Tea OpenAPI core, signature V3). Actions the SDKs have no
request class for go through each SDK's generic call. Prints one JSON object of outcomes for
tests/sdk.rs to check.

Usage: clients.py ENDPOINT KEY_ID SECRET DISABLED_KEY_ID DISABLED_SECRET
"""
import json
import sys

from aliyunsdkcore.acs_exception.exceptions import ServerException
from aliyunsdkcore.client import AcsClient
from aliyunsdkcore.request import CommonRequest
from aliyunsdkmts.request.v20140618.AddPipelineRequest import AddPipelineRequest
from aliyunsdkmts.request.v20140618.QueryIProductionJobRequest import QueryIProductionJobRequest
from aliyunsdkmts.request.v20140618.QueryPipelineListRequest import QueryPipelineListRequest
from aliyunsdkmts.request.v20140618.SubmitIProductionJobRequest import SubmitIProductionJobRequest
from alibabacloud_mts20140618 import models as mts
from alibabacloud_mts20140618.client import Client
from alibabacloud_tea_openapi import models as api
from Tea.exceptions import TeaException

ENDPOINT, KEY, SECRET, DISABLED, DISABLED_SECRET = sys.argv[1:6]
INPUT, OUTPUT = "oss://media/in/a.mp4", "oss://media/out/{source}.jpg"
out = {}


def old_client(key=KEY, secret=SECRET):
    return AcsClient(key, secret, "cn-shanghai")


def old(request, key=KEY, secret=SECRET):
    request.set_endpoint(ENDPOINT)
    request.set_protocol_type("http")
    return json.loads(old_client(key, secret).do_action_with_exception(request))


def old_error(request, key=KEY, secret=SECRET):
    try:
        old(request, key, secret)
        return "no error"
    except ServerException as e:
        return e.get_error_code()


def old_common(action, **params):
    r = CommonRequest(domain=ENDPOINT, version="2014-06-18", action_name=action)
    r.set_protocol_type("http")
    r.set_method("POST")
    for k, v in params.items():
        r.add_query_param(k, v)
    return json.loads(old_client().do_action_with_exception(r))


def new_client(key=KEY, secret=SECRET):
    return Client(api.Config(access_key_id=key, access_key_secret=secret, endpoint=ENDPOINT,
                             protocol="http", region_id="cn-shanghai"))


def new_error(call):
    try:
        call()
        return "no error"
    except TeaException as e:
        return e.code


def submit_old(source=INPUT):
    r = SubmitIProductionJobRequest()
    r.set_FunctionName("Cover")
    r.set_Input(source)
    r.set_Output(OUTPUT)
    return r


# The old SDK, signature V2.
# (in/hang.mp4 runs until cancelled on the test server)
job = old(submit_old("oss://media/in/hang.mp4"))["JobId"]
q = QueryIProductionJobRequest()
q.set_JobId(job)
out["old_query"] = old(q)
p = AddPipelineRequest()
p.set_Name("old-sdk")
out["old_pipeline"] = old(p)["Pipeline"]["PipelineId"]
ql = QueryPipelineListRequest()
ql.set_PipelineIds(out["old_pipeline"])
out["old_pipeline_list"] = [x["Id"] for x in old(ql)["PipelineList"]["Pipeline"]]
out["old_cancel"] = old_common("CancelIProductionJob", JobId=job)
out["old_list"] = [j["JobId"] for j in old_common("ListIProductionJobs")["Jobs"]]

# The current SDK, signature V3 (Action and Version as x-acs-* headers, ScheduleParams).
client = new_client()
submitted = client.submit_iproduction_job(mts.SubmitIProductionJobRequest(
    function_name="Cover", input=INPUT, output=OUTPUT, schedule_params='{"Priority":9}'))
new_job = submitted.body.job_id
out["new_query"] = client.query_iproduction_job(mts.QueryIProductionJobRequest(job_id=new_job)).body.to_map()
added = client.add_pipeline(mts.AddPipelineRequest(name="new-sdk"))
out["new_pipeline"] = added.body.pipeline.id
listed = client.query_pipeline_list(mts.QueryPipelineListRequest(pipeline_ids=out["new_pipeline"]))
out["new_pipeline_list"] = [x.id for x in listed.body.pipeline_list.pipeline]
client.update_pipeline(mts.UpdatePipelineRequest(pipeline_id=out["new_pipeline"], name="renamed", state="Paused"))
out["new_bad_schedule"] = new_error(lambda: client.submit_iproduction_job(mts.SubmitIProductionJobRequest(
    function_name="Cover", input=INPUT, output=OUTPUT, schedule_params='{"Priority":5,"Deadline":3}')))

# Every signature error, provoked.
out["wrong_secret"] = old_error(submit_old(), secret="not-the-secret")
out["unknown_key"] = old_error(submit_old(), key="LTAI00000000000000000000")
out["disabled_key"] = old_error(submit_old(), key=DISABLED, secret=DISABLED_SECRET)
out["new_wrong_secret"] = new_error(lambda: new_client(secret="not-the-secret").submit_iproduction_job(
    mts.SubmitIProductionJobRequest(function_name="Cover", input=INPUT, output=OUTPUT)))

import aliyunsdkcore.auth.composer.rpc_signature_composer as v2  # noqa: E402
import aliyunsdkcore.utils.parameter_helper as helper  # noqa: E402

real_date, real_nonce = helper.get_iso_8061_date, helper.get_uuid
helper.get_iso_8061_date = lambda: "2020-01-01T00:00:00Z"
v2.helper = helper
out["stale_timestamp"] = old_error(submit_old())
helper.get_iso_8061_date = real_date
helper.get_uuid = lambda: "the-same-nonce-twice"
out["first_nonce"] = old_error(submit_old())
out["reused_nonce"] = old_error(submit_old())
helper.get_uuid = real_nonce

print(json.dumps(out))
