-- wrk script of the benchmark: POSTs the JSON bodies in the files named after `--`, in turn
-- (one file for one query of the mix, several for a mixed load), and prints one JSON line of
-- results after wrk's own report:
--   wrk -t1 -c10 -d10s -s bench/mix.lua http://127.0.0.1:8000/graphql -- city.json
local prepared = {}
local next_index = 0

function init(args)
  for _, path in ipairs(args) do
    local file = assert(io.open(path, "rb"))
    local body = file:read("*a")
    file:close()
    prepared[#prepared + 1] =
      wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, body)
  end
  assert(#prepared > 0, "name at least one JSON body file after --")
end

function request()
  next_index = next_index % #prepared + 1
  return prepared[next_index]
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p95": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean
  ))
end
