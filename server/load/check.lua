-- wrk script: wrong checks, each verification at most `per` times overall.
-- SIDS: a file with one VerificationSid per line; SERVICE, AUTH from the env.
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
end

request = function()
  -- Thread k takes sids k, k + stride, …: no two threads share one.
  local index = ((i * stride + id - 1) % #sids) + 1
  i = i + 1
  return wrk.format(nil, path, nil, "VerificationSid=" .. sids[index] .. "&Code=000000")
end
