-- wrk script: wrong checks, each verification at most `per` times overall.
-- SIDS: a file with one VerificationSid per line; SERVICE, AUTH from the env;
-- OFFSET: sids an earlier run used (skipped); PACE_MS: a pause before each
-- request on a connection (a paced run, about connections / (pause +
-- latency) requests per second).
local sids = {}
for line in io.lines(os.getenv("SIDS")) do sids[#sids + 1] = line end
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  i = 0
  stride = tonumber(os.getenv("THREADS") or "2")
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("AUTH")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  path = "/v2/Services/" .. os.getenv("SERVICE") .. "/VerificationCheck"
  offset = tonumber(os.getenv("OFFSET") or "0")
end

local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  function delay()
    return pace
  end
end

request = function()
  -- Thread k takes sids k, k + stride, …: no two threads share one.
  local index = ((offset + i * stride + id - 1) % #sids) + 1
  i = i + 1
  return wrk.format(nil, path, nil, "VerificationSid=" .. sids[index] .. "&Code=000000")
end
