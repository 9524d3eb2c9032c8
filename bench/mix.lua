-- wrk script of the benchmark: POSTs the JSON bodies in the files named after `--`, in turn
-- (one file for one query of the mix, several for a mixed load), and prints one JSON line of
-- results after wrk's own report:
--   wrk -t1 -c10 -d10s -s bench/mix.lua http://127.0.0.1:8000/graphql -- city.json
-- The portal run (bench/portal.py) names a file of distinct requests instead, one a line
-- (`path<TAB>body`), a file of the order to send them in, one request's line number a line,
-- and optionally a file to count the requests sent in, every 100th (the office writes by it):
--   wrk ... -s bench/mix.lua http://127.0.0.1:8000 -- portal requests.tsv order.txt [sent]
local prepared = {}
local order = {}
local position = 0
local progress = nil
local sent = 0
local headers = { ["Content-Type"] = "application/json" }

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  if args[1] == "portal" then
    for line in io.lines(args[2]) do
      local path, body = line:match("^([^\t]*)\t(.*)$")
      prepared[#prepared + 1] = wrk.format("POST", path, headers, body)
    end
    for line in io.lines(args[3]) do
      order[#order + 1] = tonumber(line)
    end
    progress = args[4]
  else
    for index, path in ipairs(args) do
      prepared[index] = wrk.format("POST", nil, headers, read(path))
      order[index] = index
    end
  end
  assert(#order > 0, "name at least one JSON body file after --, or portal FILE FILE")
end

function request()
  position = position % #order + 1
  if progress then
    sent = sent + 1
    if sent % 100 == 0 then
      local file = assert(io.open(progress, "w"))
      file:write(sent)
      file:close()
    end
  end
  return prepared[order[position]]
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
