-- share.lua — what the scripts that share out a file among wrk's threads have in
-- common (refresh.lua, jwt.lua): my_lines(path) is this thread's share of the
-- file's lines (line n to the thread n mod BENCH_THREADS; the thread's index is
-- set by report.lua's setup(), which must be loaded first).
function my_lines(path)
   local nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
   local mine, n = {}, 0
   for line in io.lines(path) do
      if n % nthreads == index then
         mine[#mine + 1] = line
      end
      n = n + 1
   end
   return mine
end
