-- report.lua — what every bench/*.lua script shares: setup() numbers the threads
-- (index, for share.lua) and keeps them; response() counts each answer that is not
-- 2xx by its status, per thread; done() prints the one line bench/run parses:
-- requests, duration, latency percentiles in µs, the non-2xx answers by status
-- (statuses=401:2,503:1 or -) and wrk's socket errors by kind (connect, read,
-- write, timeout). A script with a response() of its own calls count_status().
local threads = {}
statuses = {}

function setup(thread)
   thread:set("index", #threads)
   threads[#threads + 1] = thread
end

function count_status(status)
   if status < 200 or status > 299 then
      statuses[status] = (statuses[status] or 0) + 1
   end
end

function response(status, headers, body)
   count_status(status)
end

local function status_list()
   local all, keys, parts = {}, {}, {}
   for _, t in ipairs(threads) do
      for s, n in pairs(t:get("statuses") or {}) do
         if not all[s] then keys[#keys + 1] = s end
         all[s] = (all[s] or 0) + n
      end
   end
   table.sort(keys)
   for _, s in ipairs(keys) do parts[#parts + 1] = s .. ":" .. all[s] end
   return #parts > 0 and table.concat(parts, ",") or "-"
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d status_errors=%d socket_errors=%d " ..
      "p50_us=%d p99_us=%d statuses=%s connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout,
      latency:percentile(50), latency:percentile(99), status_list(),
      e.connect, e.read, e.write, e.timeout))
end
