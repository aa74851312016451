-- jwt.lua — requests that each carry a JWT no request used before (jti is single use):
-- the lines of BENCH_JWTS (made by bench/proofs.mjs just before the run) shared out
-- among the threads (line n to thread n mod BENCH_THREADS), one line a request.
--   BENCH_MODE  dpop_cc:        POST BENCH_BODY, Authorization BENCH_AUTH, DPoP: the line
--               pkjwt_cc:       POST BENCH_BODY .. "&client_assertion=" .. the line
--               dpop_protected: GET, the line is "token proof":
--                               Authorization: DPoP token, DPoP: proof
-- When the lines run out the requests repeat them (and get 400/401, counted as errors):
-- make the file larger (bench/run: BENCH_PROOF_RATE).
dofile(os.getenv("BENCH_DIR") .. "/report.lua")
dofile(os.getenv("BENCH_DIR") .. "/share.lua")

function init(args)
   lines, next_line = my_lines(os.getenv("BENCH_JWTS")), 1
   mode = os.getenv("BENCH_MODE")
   body = os.getenv("BENCH_BODY") or ""
   headers = { ["Content-Type"] = "application/x-www-form-urlencoded",
               ["Authorization"] = os.getenv("BENCH_AUTH") }
end

local function take()
   local line = lines[next_line]
   next_line = next_line % #lines + 1
   return line
end

function request()
   local line = take()
   if mode == "dpop_protected" then
      local token, proof = line:match("^(%S+) (%S+)$")
      return wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proof })
   elseif mode == "pkjwt_cc" then
      return wrk.format("POST", nil, { ["Content-Type"] = headers["Content-Type"] },
                        body .. "&client_assertion=" .. line)
   end
   headers["DPoP"] = line
   return wrk.format("POST", nil, headers, body)
end
