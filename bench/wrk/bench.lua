-- wrk script for `python -m bench`: prints the figures of a run as one JSON line.
-- BENCH_MODE=get (default): GET the URL given on the command line; anything but 200 is an error.
-- BENCH_MODE=orders: POST 5-line orders to /api/v1/orders for random dealers and SKUs, each with
-- its own Idempotency-Key; anything but 201 is an error. Orders read from the environment:
-- BENCH_TOKEN (bearer), BENCH_DEALERS and BENCH_SKUS (comma-separated ids) or BENCH_SKU_MAX
-- (ids 1..max), BENCH_LINES (default 5), BENCH_SEED, BENCH_RUN (makes the keys unique).
local orders = os.getenv("BENCH_MODE") == "orders"
expected = orders and 201 or 200
local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local function ids(text)
  local out = {}
  for id in string.gmatch(text or "", "%d+") do table.insert(out, tonumber(id)) end
  return out
end

function init(args)
  math.randomseed(tonumber(os.getenv("BENCH_SEED") or "5") * 1000 + tid)
  token = os.getenv("BENCH_TOKEN")
  dealers = ids(os.getenv("BENCH_DEALERS"))
  skus = ids(os.getenv("BENCH_SKUS"))
  sku_max = tonumber(os.getenv("BENCH_SKU_MAX") or "0")
  lines = tonumber(os.getenv("BENCH_LINES") or "5")
  run = os.getenv("BENCH_RUN") or tostring(os.time())
  counter = 0
  bad = 0
  shown = 0
end

local function pick_sku()
  if #skus > 0 then return skus[math.random(1, #skus)] end
  return math.random(1, sku_max)
end

local function order()
  counter = counter + 1
  local seen, parts = {}, {}
  while #parts < lines do
    local s = pick_sku()
    if not seen[s] then
      seen[s] = true
      table.insert(parts, string.format('{"sku_id":%d,"qty":1}', s))
    end
  end
  local body = string.format('{"dealer_id":%d,"lines":[%s]}',
    dealers[math.random(1, #dealers)], table.concat(parts, ","))
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%s-%d-%d", run, tid, counter),
  }
  return wrk.format("POST", "/api/v1/orders", headers, body)
end

if orders then
  request = order
end

function response(status, headers, body)
  if status ~= expected then
    bad = bad + 1
    if shown < 2 then
      shown = shown + 1
      io.stderr:write(string.format("status %d: %s\n", status, string.sub(body or "", 1, 300)))
    end
  end
end

function done(summary, latency, requests)
  local b = 0
  for _, t in ipairs(threads) do b = b + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.4f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"bad":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, b,
    e.connect + e.read + e.write + e.timeout))
end
