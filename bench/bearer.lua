-- bearer.lua — GET with "Authorization: Bearer T", T drawn at random from
-- the tokens in BENCH_TOKENS (one a line; the static-file cases). The
-- unprotected file gets the same requests, so that wrk (which shares the
-- machine) does the same work on both sides of the pair. Without
-- BENCH_TOKENS, a plain GET.
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

local tokens = {}

function init(args)
   local file = os.getenv("BENCH_TOKENS")
   if file then
      for line in io.lines(file) do
         tokens[#tokens + 1] = line
      end
   end
   math.randomseed(os.time() + tonumber(tostring(tokens):match("0x(%x+)") or "0", 16))
end

function request()
   if #tokens == 0 then
      return wrk.format("GET")
   end
   return wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. tokens[math.random(#tokens)] })
end
