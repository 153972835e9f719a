-- wrk script for the write benchmarks, with the bearer token in $TOKEN.
-- MODE=report (W1): reportDispute with a fresh idempotency key and title per request
--   ($RUN keeps keys of different runs apart).
-- MODE=note (W2): addNote with expectedVersion; run with as many threads as connections,
--   so each thread holds one connection and one dispute of $DISPUTES ("id:version,…"),
--   and sends the version each answer returned with the next request.
-- An answer with GraphQL errors (CONFLICT included) counts as an error.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  mode = os.getenv("MODE")
  run = os.getenv("RUN")
  counter = 0
  errors = 0
  first_error = ""
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  if mode == "note" then
    local i = 0
    for pair in string.gmatch(os.getenv("DISPUTES"), "[^,]+") do
      i = i + 1
      if i == tid then
        local v
        id, v = pair:match("([^:]+):(%d+)")
        version = tonumber(v)
      end
    end
    assert(id, "no dispute for thread " .. tid)
  end
end

function request()
  counter = counter + 1
  local body
  if mode == "report" then
    body = string.format('{"query":"mutation W1($i: ReportDisputeInput!) { reportDispute(input: $i) { replayed dispute { id version } } }",'
      .. '"variables":{"i":{"regencyCode":"31.71","occurredAt":"2026-11-01T00:00:00Z","category":"OTHER","severity":"LOW",'
      .. '"title":"bench report %s-%d-%d","description":"written by bench/run.py","idempotencyKey":"bench-%s-%d-%d"}}}',
      run, tid, counter, run, tid, counter)
  else
    body = string.format('{"query":"mutation W2($i: AddNoteInput!) { addNote(input: $i) { dispute { id version } } }",'
      .. '"variables":{"i":{"id":"%s","expectedVersion":%d,"note":"bench note %d"}}}', id, version, counter)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  -- wrk itself counts answers of status 400 and above.
  if status ~= 200 then return end
  if body:find('"errors"', 1, true) then
    errors = errors + 1
    if first_error == "" then first_error = status .. " " .. body:sub(1, 300) end
    return
  end
  if mode == "note" then
    version = tonumber(body:match('"version":(%d+)'))
  end
end

function done(summary, latency, requests)
  local failed = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout
  local answer_errors = 0
  for _, thread in ipairs(threads) do
    answer_errors = answer_errors + thread:get("errors")
    local e = thread:get("first_error")
    if e ~= "" then io.write("first error: " .. e .. "\n") end
  end
  io.write(string.format("BENCH %d %d %.0f %.0f %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), failed + answer_errors))
end
