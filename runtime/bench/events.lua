-- wrk script for http.sh: POSTs a ping event to the leads h0 … h(LEADS-1)
-- in turn, so that every lead has events in flight. The requests are built
-- once: wrk runs on the same cores as the server, and formatting each
-- request in Lua took CPU from the server under test.
local leads = tonumber(os.getenv("LEADS") or "32")
local requests = {}
local n = 0

init = function()
  local body = '{"type":"ping","data":{"size":1}}'
  local headers = { ["Content-Type"] = "application/json" }
  for i = 0, leads - 1 do
    requests[i] = wrk.format("POST", "/v1/leads/h" .. i .. "/events", headers, body)
  end
end

request = function()
  n = (n + 1) % leads
  return requests[n]
end

response = function(status)
  if status ~= 200 then
    print("status " .. status)
    os.exit(1)
  end
end
