"""Reads both fieldgate environments with the unchanged servicepytan client.

Usage: python check.py credentials.json
Only the two base URLs are swapped; everything else is servicepytan as published.
"""
import json
import sys

from servicepytan import Endpoint
from servicepytan.auth import servicepytan_connect


def connect(doc, tenant, env):
    creds = tenant["credentials"][env]
    conn = servicepytan_connect(
        api_environment=env,
        app_key=doc["appKey"],
        tenant_id=str(tenant["id"]),
        client_id=creds["clientId"],
        client_secret=creds["clientSecret"],
    )
    conn["auth_root"] = doc["environments"][env]["authUrl"]
    conn["api_root"] = doc["environments"][env]["apiUrl"]
    return conn


def check(doc, tenant, env):
    conn = connect(doc, tenant, env)
    customers = Endpoint("crm", "customers", conn)
    listed = customers.get_all({"pageSize": 25})
    total = customers.get_many({"pageSize": 1, "includeTotal": True})["totalCount"]
    ids = {c["id"] for c in listed}
    assert len(listed) == total == len(ids), (env, len(listed), total, len(ids))
    assert all(c["active"] for c in listed)

    jobs = Endpoint("jpm", "export", conn).export_all("jobs")
    every_job = Endpoint("jpm", "jobs", conn).get_many(
        {"pageSize": 1, "includeTotal": True, "active": "Any"})["totalCount"]
    job_ids = {j["id"] for j in jobs}
    assert len(jobs) == every_job == len(job_ids), (env, len(jobs), every_job, len(job_ids))
    assert all(j["customerId"] for j in jobs)

    one = customers.get_one(listed[0]["id"])
    assert one["id"] == listed[0]["id"] and one["name"] == listed[0]["name"]
    print(f"{env:<12} tenant {tenant['id']}: {len(listed)} customers listed, {len(jobs)} jobs exported")
    return listed, jobs


def main():
    with open(sys.argv[1]) as f:
        doc = json.load(f)
    customer = next(t for t in doc["tenants"] if t["kind"] == "customer")
    sandbox = next(t for t in doc["tenants"] if t["kind"] == "developer")

    prod_customers, prod_jobs = check(doc, customer, "production")
    copy_customers, copy_jobs = check(doc, customer, "integration")
    # The integration tenant holds a copy of production.
    assert prod_customers == copy_customers
    assert sorted(j["id"] for j in prod_jobs) == sorted(j["id"] for j in copy_jobs)
    check(doc, sandbox, "integration")
    print("servicepytan: ok")


if __name__ == "__main__":
    main()
