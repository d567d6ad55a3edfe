-- wrk script: starts verifications by SMS to distinct numbers (SERVICE, AUTH
-- from the env; +1 <area> 555 xxxx, area codes 301… for thread 1, 401… for
-- thread 2, the next area code every 10 000).
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
  local to = string.format("%%2B1%d555%04d", 201 + 100 * id + math.floor(i / 10000), i % 10000)
  return wrk.format(nil, path, nil, "To=" .. to .. "&Channel=sms")
end
