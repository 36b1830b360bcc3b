-- wrk script for bench/webhook.sh: POST the AdmissionReview in $WEBHOOK_BODY
-- (a file) as application/json on every request of every connection, and at
-- the end print one machine-readable line:
--   WRKSTATS requests=N duration_us=N req_s=F p50_us=N p90_us=N p99_us=N max_us=N
--            errors_connect=N errors_read=N errors_write=N errors_status=N errors_timeout=N
-- (on one line). There is deliberately no response() callback: it would make
-- wrk hand every body to Lua and slow the client on a 2-core machine.
-- bench/webhook.sh checks the verdict with curl before the load.

local path = os.getenv("WEBHOOK_BODY")
if path == nil or path == "" then
  error("WEBHOOK_BODY must name the request body file")
end
local f = assert(io.open(path, "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, */*"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKSTATS requests=%d duration_us=%d req_s=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "errors_connect=%d errors_read=%d errors_write=%d errors_status=%d errors_timeout=%d\n",
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
