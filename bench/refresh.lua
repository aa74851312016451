-- refresh.lua — refresh_token grant, each request with a refresh token no
-- one used yet: every 200 answer's refresh_token goes back into this
-- thread's pool, and the next request takes one from it (a connection has one
-- request in flight, so a pool a little larger than the connections suffices).
--   BENCH_REFRESH  file of seed refresh tokens, one a line, shared out among threads
--   BENCH_AUTH     Basic credentials of the client
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_DIR") .. "/share.lua")

function init(args)
   pool = my_lines(os.getenv("BENCH_REFRESH"))
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
   wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end

function request()
   local t = table.remove(pool) or "pool-empty"
   return wrk.format(nil, nil, nil, "grant_type=refresh_token&refresh_token=" .. t)
end

function response(status, headers, body)
   count_status(status)
   local t = status == 200 and body:match('"refresh_token":"([^"]+)"')
   if t then
      pool[#pool + 1] = t
   end
end
