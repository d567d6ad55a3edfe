-- wrk script: starts verifications by SMS to distinct numbers (SERVICE, AUTH
-- from the env; numbers +1 555 01xx xxxx, a different block per thread).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end

function init(args)
  i = 0
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("AUTH")
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  path = "/v2/Services/" .. os.getenv("SERVICE") .. "/Verifications"
end

request = function()
  i = i + 1
  local to = string.format("%%2B4420%d%07d", 70 + id, i)
  return wrk.format(nil, path, nil, "To=" .. to .. "&Channel=sms")
end
