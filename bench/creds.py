"""Prints shell assignments for the production credentials of a demo's credentials file."""
import json
import sys
import urllib.request

doc = json.load(open(sys.argv[1]))
customer = next(t for t in doc["tenants"] if t["kind"] == "customer")
prod = doc["environments"]["production"]
creds = customer["credentials"]["production"]
values = {
    "PROD_AUTH": prod["authUrl"],
    "PROD_API": prod["apiUrl"],
    "TENANT": customer["id"],
    "PROD_ID": creds["clientId"],
    "PROD_SECRET": creds["clientSecret"],
    "APP_KEY": doc["appKey"],
}
# One customer id for the get-by-id case, read through the ungated benchmark listener.
url = f"http://127.0.0.1:7299/crm/v2/tenant/{customer['id']}/customers?pageSize=1"
values["CUSTOMER_ID"] = json.load(urllib.request.urlopen(url))["data"][0]["id"]
for name, value in values.items():
    print(f"{name}='{value}'")
