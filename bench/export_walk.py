"""One client walks the jobs export feed from the start and reports records per second."""
import http.client
import json
import sys
import time
import urllib.parse
import urllib.request

auth, api, tenant, client_id, secret, app_key = sys.argv[1:7]
body = urllib.parse.urlencode({"grant_type": "client_credentials", "client_id": client_id,
                               "client_secret": secret}).encode()
token = json.load(urllib.request.urlopen(f"{auth}/connect/token", body))["access_token"]
host = urllib.parse.urlparse(api)
conn = http.client.HTTPConnection(host.hostname, host.port)
headers = {"ST-App-Key": app_key, "Authorization": f"Bearer {token}"}

records, pages, token_from = 0, 0, ""
started = time.perf_counter()
while True:
    conn.request("GET", f"/jpm/v2/tenant/{tenant}/export/jobs?from={token_from}", headers=headers)
    page = json.loads(conn.getresponse().read())
    records += len(page["data"])
    pages += 1
    token_from = page["continueFrom"]
    if not page["hasMore"]:
        break
elapsed = time.perf_counter() - started
print(f"   {records} records in {pages} pages, {elapsed:.2f} s: {records / elapsed:.0f} records/s")
