-- One operation of the inbox benchmark, driven by wrk. inbox-bench starts one wrk per operation,
-- all at once, so each operation gets its own latency distribution under the shared load:
--
--   wrk -c N -d T -s workload.lua URL -- <operation> <rows file>
--
-- The rows file is written by inbox-bench, one whitespace-separated row per line:
--   send         <patient token> <open conversation id>
--   tab          <staff token> <tab>
--   timeline     <staff token> <conversation id>
--   search       <staff token> <tab> <word>
--   counts       <staff token>
--   claim_close  <clinician token> <open conversation id>   (claimed, then closed)
-- `done` prints one JSON line that inbox-bench parses; everything else wrk prints is ignored.
-- inbox-bench runs wrk with one thread (-t1), so one Lua state sees every request of a run.

local operation, rows
local sent = 0
local claims_made = 0
-- Claims sent and not yet answered, by conversation id; and the rows whose claim was answered,
-- waiting for their close.
-- A close goes out only after its claim's answer: wrk spreads requests over its connections, so
-- a close sent a fixed number of requests after its claim could overtake a claim that waited on
-- a lock, close the conversation first, and turn the claim into a 409.
local claiming = {}
local to_close = {}

-- A patient's words, varied enough that routing, the search index and the previews see
-- realistic text rather than one repeated string.
local openings = {
   "Hi,", "Hello,", "Good morning,", "Quick question:", "Sorry to bother you,", "Hey,",
}
local subjects = {
   "my knee still hurts after the squats", "the exercises on day 3 make my back sore",
   "I can't log in to the app since the update", "I was charged twice for this month",
   "can I move my appointment to Thursday", "the headset does not turn on",
   "my shoulder feels better this week", "I forgot my password again",
   "should I keep doing the balance routine", "the video session keeps freezing",
   "my insurance card changed", "the stretching plan is too easy now",
   "I have some swelling around the ankle", "how many sets should I do",
}
local closings = {
   "Thanks!", "Thank you.", "Let me know.", "", "Appreciate it.", "Talk soon.",
}

local function pick(list)
   return list[math.random(#list)]
end

function init(args)
   operation = args[1]
   rows = {}
   for line in io.lines(args[2]) do
      local fields = {}
      for field in line:gmatch("%S+") do
         table.insert(fields, field)
      end
      table.insert(rows, fields)
   end
   math.randomseed(os.time())
end

local function bearer(token)
   return { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

local requests = {
   send = function()
      local row = rows[math.random(#rows)]
      sent = sent + 1
      local body = string.format(
         '{"body":"%s %s. %s","client_message_id":"bench-%d-%d"}',
         pick(openings), pick(subjects), pick(closings), sent, math.random(1e9))
      return wrk.format("POST", "/v1/patient/conversations/" .. row[2] .. "/messages",
         bearer(row[1]), body)
   end,
   tab = function()
      local row = rows[math.random(#rows)]
      return wrk.format("GET", "/v1/conversations?tab=" .. row[2], bearer(row[1]))
   end,
   timeline = function()
      local row = rows[math.random(#rows)]
      return wrk.format("GET", "/v1/conversations/" .. row[2] .. "/messages", bearer(row[1]))
   end,
   search = function()
      local row = rows[math.random(#rows)]
      return wrk.format("GET", "/v1/conversations?tab=" .. row[2] .. "&q=" .. row[3],
         bearer(row[1]))
   end,
   counts = function()
      local row = rows[math.random(#rows)]
      return wrk.format("GET", "/v1/inbox/counts", bearer(row[1]))
   end,
   claim_close = function()
      local row = table.remove(to_close, 1)
      if row then
         return wrk.format("POST", "/v1/conversations/" .. row[2] .. "/close", bearer(row[1]))
      end
      claims_made = claims_made + 1
      row = rows[(claims_made - 1) % #rows + 1]
      claiming[row[2]] = row
      return wrk.format("POST", "/v1/conversations/" .. row[2] .. "/claim", bearer(row[1]))
   end,
}

function request()
   return requests[operation]()
end

-- wrk calls this for every operation's answers once it is defined; only claim_close reads them.
-- A claimed conversation's JSON starts with its id.
function response(status, headers, body)
   if operation ~= "claim_close" or status ~= 200 then
      return
   end
   local id = body:match('^{"id":"([^"]+)"')
   local row = id and claiming[id]
   if row then
      claiming[id] = nil
      table.insert(to_close, row)
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"non_2xx":%d,"socket_errors":%d}\n',
      summary.requests, summary.duration,
      latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
      errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
