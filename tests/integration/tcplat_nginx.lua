-- wrk script for tcplat_nginx.sh: each of wrk's requests, one line each,
-- "start_ns end_ns" on CLOCK_MONOTONIC (the clock of tcplat's events),
-- appended to the file named by $LK_WRK_LAT.
--
-- Why not wrk's own "Latency Distribution": before printing it, wrk
-- "corrects" for coordinated omission (stats_correct in wrk.c): with
-- I = runtime_us / (requests / connections), every sample of n >= 2I us
-- adds samples of n - I, n - 2I, ... down to above I.  One 100 ms stall
-- at 160 us per request adds 600 samples: measured, wrk printed a 99% of
-- 161 ms where tcplat's p99 of the same requests was 5.6 ms (and a mean
-- latency times the request count of 193 s in a 2 s run on one
-- connection).  Debian's wrk 4.1.0 gives Lua no access to the raw
-- histogram (latency[i] returns i), so the samples are taken here, at
-- wrk's own points: request() returns just before wrk reads its clock
-- for the request's start and writes it (the clock is read here after
-- the request is formatted, as wrk's is), response() is called just
-- after wrk read its clock at the response's end.  Requests carry X-Id,
-- which the test's nginx echoes in its response (add_header), so that
-- replies on 8 connections are told apart.
-- Usage: LK_WRK_LAT=FILE wrk -s tcplat_nginx.lua URL
local ffi = require("ffi")
ffi.cdef [[
	struct lk_timespec { long tv_sec; long tv_nsec; };
	int clock_gettime(int clk, struct lk_timespec *ts);
]]
local CLOCK_MONOTONIC = 1
local ts = ffi.new("struct lk_timespec")
local function now_ns()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) * 1e9 + tonumber(ts.tv_nsec)
end

local out, id, start = nil, 0, {}

function request()
	id = id + 1
	local r = wrk.format(nil, nil, { ["X-Id"] = tostring(id) })
	start[id] = now_ns()
	return r
end

function response(status, headers, body)
	local t = now_ns()
	local i = tonumber(headers["X-Id"])
	if i and start[i] then
		-- Opened here: wrk 4.1.0 calls init() in its main Lua state,
		-- not in the thread's.  stdio flushes it when wrk exits.
		out = out or assert(io.open(os.getenv("LK_WRK_LAT"), "a"))
		out:write(string.format("%.0f %.0f\n", start[i], t))
		start[i] = nil
	end
end
