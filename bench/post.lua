-- post.lua — a fixed form POST (token, introspection and baseline cases).
--   BENCH_BODY   the application/x-www-form-urlencoded body
--   BENCH_AUTH   the Authorization header value (optional)
dofile(os.getenv("BENCH_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY") or ""
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
if os.getenv("BENCH_AUTH") then
   wrk.headers["Authorization"] = os.getenv("BENCH_AUTH")
end
