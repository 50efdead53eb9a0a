-- wrk script for http.sh: POSTs a ping event to the leads h0 … h(LEADS-1)
-- in turn, so that every lead has events in flight.
local leads = tonumber(os.getenv("LEADS") or "32")
local n = 0
local body = '{"type":"ping","data":{"size":1}}'
local headers = { ["Content-Type"] = "application/json" }

request = function()
  n = n + 1
  return wrk.format("POST", "/v1/leads/h" .. (n % leads) .. "/events", headers, body)
end

response = function(status)
  if status ~= 200 then
    print("status " .. status)
    os.exit(1)
  end
end
