-- wrk script for benchmarks/http_load.py: cold misses and the mixed load.
--
--   wrk ... -s thumbnails.lua URL -- THREADS MISSES HITS EVERY
--
-- MISSES: a file of pre-signed thumbnail paths (one a line) never requested
-- before. Each is sent once: thread t of THREADS takes lines t, t+THREADS, ...
-- HITS: a file of paths whose thumbnails exist ("-" for none).
-- EVERY: one request in EVERY is the next miss, the others cycle over the hits
-- (1: misses only; 10: 90% hits, 10% misses).
--
-- If a thread runs out of misses it stops and reports it: a wrap-around would
-- turn misses into hits and inflate the render rate. done() prints one
-- "restthumbs-status CODE COUNT" line per HTTP status and the misses sent, for
-- benchmarks/load/wrk.py to parse (wrk itself only reports "Non-2xx or 3xx responses").

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   table.insert(threads, thread)
   next_id = next_id + 1
end

local function read_lines(path)
   local lines = {}
   if path == "-" then
      return lines
   end
   for line in io.lines(path) do
      if line ~= "" then
         lines[#lines + 1] = line
      end
   end
   return lines
end

function init(args)
   local nthreads = tonumber(args[1])
   local all = read_lines(args[2])
   misses = {}
   for i = id, #all, nthreads do
      misses[#misses + 1] = all[i]
   end
   -- Hits are pre-formatted: building a request costs wrk time we do not want to measure.
   hits = {}
   for _, path in ipairs(read_lines(args[3])) do
      hits[#hits + 1] = wrk.format("GET", path)
   end
   every = tonumber(args[4])
   sent = 0          -- requests built by this thread
   missed = 0        -- misses sent
   hit_index = id    -- threads start at different hits
   exhausted = 0
   statuses = {}
end

function request()
   sent = sent + 1
   if #hits == 0 or sent % every == 0 then
      if missed < #misses then
         missed = missed + 1
         return wrk.format("GET", misses[missed])
      end
      if exhausted == 0 then
         exhausted = 1
         wrk.thread:stop()
      end
      if #hits == 0 then
         return wrk.format("GET", misses[#misses])
      end
   end
   hit_index = hit_index % #hits + 1
   return hits[hit_index]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local total, missed_total, exhausted_total = {}, 0, 0
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
         total[status] = (total[status] or 0) + count
      end
      missed_total = missed_total + thread:get("missed")
      exhausted_total = exhausted_total + thread:get("exhausted")
   end
   for status, count in pairs(total) do
      io.write(string.format("restthumbs-status %d %d\n", status, count))
   end
   io.write(string.format("restthumbs-misses-sent %d\n", missed_total))
   io.write(string.format("restthumbs-exhausted %d\n", exhausted_total))
end
